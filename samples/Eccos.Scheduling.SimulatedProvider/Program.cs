using System.Runtime.InteropServices;
using System.Text.Json;

namespace Eccos.Scheduling.Simulation;

/// <summary>
/// The standalone server: <c>--urls URL</c> (default <c>http://127.0.0.1:0</c>, a free port), <c>--models FILE</c> (the
/// JSON of <see cref="SimulatedProviderOptions"/>, see README.md; default one model <c>sim</c> with default options).
/// Prints <c>listening on {url}</c> once it serves, and runs until Ctrl+C or SIGTERM.
/// </summary>
internal static class Program
{
    private const string Usage = "usage: Eccos.Scheduling.SimulatedProvider [--urls http://127.0.0.1:5055] [--models models.json]";

    private static async Task<int> Main(string[] args)
    {
        SimulatedProviderOptions options;
        try
        {
            options = Parse(args);
        }
        catch (Exception e) when (e is ArgumentException or IOException or JsonException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"{e.Message}\n{Usage}").ConfigureAwait(false);
            return 2;
        }

        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.Cancel();
        });

        SimulatedProvider provider;
        try
        {
            provider = await SimulatedProvider.StartAsync(options, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 1;
        }

        await using (provider.ConfigureAwait(false))
        {
            Console.WriteLine($"listening on {provider.RootAddress.GetLeftPart(UriPartial.Authority)}");
            Console.Out.Flush();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: stop as asked.
            }
        }

        return 0;
    }

    private static SimulatedProviderOptions Parse(string[] args)
    {
        string? url = null;
        string? models = null;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--urls":
                    url = value.Split(';')[0];
                    break;
                case "--models":
                    models = value;
                    break;
                default:
                    throw new ArgumentException($"Unknown argument '{args[i]}'.");
            }

            i++;
        }

        SimulatedProviderOptions options = models is null
            ? new SimulatedProviderOptions { Models = { ["sim"] = new SimulatedModelOptions() } }
            : SimulatedProviderOptions.FromJson(File.ReadAllText(models));
        options.Url = url ?? options.Url;
        return options;
    }
}
