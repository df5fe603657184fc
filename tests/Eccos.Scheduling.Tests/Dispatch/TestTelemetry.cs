using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

/// <summary>An <see cref="IMeterFactory"/> whose meters are scoped to it, so that collectors see only one test's router.</summary>
internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
            _meters.Clear();
        }
    }
}

internal static class TestLogging
{
    public static (ILoggerFactory Factory, FakeLogCollector Collector) Create(LogLevel minimum = LogLevel.Trace)
    {
        var collector = new FakeLogCollector();
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(minimum).AddProvider(new FakeLoggerProvider(collector)));
        return (factory, collector);
    }
}
