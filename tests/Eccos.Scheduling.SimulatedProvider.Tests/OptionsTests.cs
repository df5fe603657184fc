using System.Text.Json;

namespace Eccos.Scheduling.Simulation.Tests;

public class OptionsTests
{
    [TestCase(nameof(SimulatedModelOptions.FailureRate))]
    [TestCase(nameof(SimulatedModelOptions.MaxConcurrency))]
    [TestCase(nameof(SimulatedModelOptions.RateWindow))]
    [TestCase(nameof(SimulatedModelOptions.ConcurrencyLimitStatusCode))]
    [TestCase(nameof(SimulatedModelOptions.Latency))]
    [TestCase(nameof(SimulatedModelOptions.TokensPerSecond))]
    public void A_bad_model_option_fails_at_start_naming_it(string option)
    {
        var model = new SimulatedModelOptions();
        switch (option)
        {
            case nameof(SimulatedModelOptions.FailureRate): model.FailureRate = 1.5; break;
            case nameof(SimulatedModelOptions.MaxConcurrency): model.MaxConcurrency = 0; break;
            case nameof(SimulatedModelOptions.RateWindow): model.RateWindow = TimeSpan.Zero; break;
            case nameof(SimulatedModelOptions.ConcurrencyLimitStatusCode): model.ConcurrencyLimitStatusCode = 500; break;
            case nameof(SimulatedModelOptions.Latency): model.Latency = TimeSpan.FromSeconds(-1); break;
            default: model.TokensPerSecond = double.NaN; break;
        }

        var options = new SimulatedProviderOptions { Models = { ["m"] = model } };
        Assert.That(() => SimulatedProvider.StartAsync(options), Throws.InstanceOf<ArgumentOutOfRangeException>()
            .With.Message.Contains($"SimulatedModelOptions.{option} of model 'm'"));
    }

    [Test]
    public void Fault_rates_must_add_up_to_at_most_one()
    {
        var options = new SimulatedProviderOptions { Models = { ["m"] = new() { FailureRate = 0.5, ServiceUnavailableRate = 0.4, DropConnectionRate = 0.2 } } };
        Assert.That(() => SimulatedProvider.StartAsync(options), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("must be ≤ 1"));
    }

    [Test]
    public void A_provider_needs_a_model_and_an_http_url()
    {
        Assert.That(() => SimulatedProvider.StartAsync(new SimulatedProviderOptions()), Throws.ArgumentException.With.Message.Contains("Models"));
        var https = new SimulatedProviderOptions { Url = "https://127.0.0.1:5001", Models = { ["m"] = new() } };
        Assert.That(() => SimulatedProvider.StartAsync(https), Throws.ArgumentException.With.Message.Contains("Url"));
    }

    [Test]
    public async Task Options_are_copied_at_start()
    {
        var model = new SimulatedModelOptions();
        await using SimulatedProvider provider = await SimulatedProvider.StartAsync(new SimulatedProviderOptions { Models = { ["m"] = model } });
        model.FailureRate = 1;
        Assert.That(await Sim.StatusOfAsync(provider), Is.EqualTo(200));
    }

    [Test]
    public void The_JSON_form_reads_durations_as_milliseconds_or_strings_and_refuses_unknown_properties()
    {
        SimulatedProviderOptions options = SimulatedProviderOptions.FromJson("""
            {
              "url": "http://127.0.0.1:5055",
              "seed": 9,
              "models": {
                "a": { "latency": 250, "jitter": "00:00:00.1", "maxConcurrency": 8, "concurrencyLimitStatusCode": 503,
                       "requestsPerWindow": 60, "tokensPerWindow": 1000, "rateWindow": "00:01:00", "failureRate": 0.1, "hang": false },
              },
            }
            """);
        SimulatedModelOptions a = options.Models["a"];
        Assert.Multiple(() =>
        {
            Assert.That(options.Url, Is.EqualTo("http://127.0.0.1:5055"));
            Assert.That(options.Seed, Is.EqualTo(9));
            Assert.That(a.Latency, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
            Assert.That(a.Jitter, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(a.MaxConcurrency, Is.EqualTo(8));
            Assert.That(a.ConcurrencyLimitStatusCode, Is.EqualTo(503));
            Assert.That(a.RequestsPerWindow, Is.EqualTo(60));
            Assert.That(a.TokensPerWindow, Is.EqualTo(1000));
            Assert.That(a.RateWindow, Is.EqualTo(TimeSpan.FromMinutes(1)));
            Assert.That(a.FailureRate, Is.EqualTo(0.1));
            Assert.That(a.OutputTokens, Is.EqualTo(16), "defaults stay");
            Assert.That(() => SimulatedProviderOptions.FromJson("""{ "models": { "a": { "latencyy": 1 } } }"""), Throws.InstanceOf<JsonException>());
        });
    }
}
