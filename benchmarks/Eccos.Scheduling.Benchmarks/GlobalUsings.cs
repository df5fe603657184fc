global using Eccos.Scheduling.Evaluation;
