global using System.ClientModel;
global using Eccos.Scheduling.Simulation;
global using Microsoft.Extensions.AI;
global using NUnit.Framework;
global using Eccos.Scheduling.Testing;
