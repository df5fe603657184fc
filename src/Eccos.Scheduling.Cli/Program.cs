using Eccos.Scheduling.Cli;
using Spectre.Console;

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

return await EccosCli.CreateDefault().RunAsync(args, AnsiConsole.Console, Console.Error, cancellation.Token).ConfigureAwait(false);
