global using Eccos.Scheduling.Evaluation;
global using NUnit.Framework;
