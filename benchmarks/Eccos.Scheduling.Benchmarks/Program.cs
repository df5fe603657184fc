using BenchmarkDotNet.Running;

// Run: dotnet run -c Release --project benchmarks/Eccos.Scheduling.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
