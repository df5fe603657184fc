using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling;

/// <summary>What one finished request leaves for the outcome sinks.</summary>
internal sealed class FeedbackItem
{
    public required SchedulingQuery Query { get; init; }

    public required EccosDecision Decision { get; init; }

    public required ModelOutcome[] Outcomes { get; init; }

    /// <summary>Index in <see cref="Outcomes"/> of the successful try, or -1.</summary>
    public int Served { get; init; } = -1;

    public int? InputTokens { get; init; }

    public string? ResponseId { get; init; }

    public DateTimeOffset Timestamp { get; init; }

    /// <summary>Kept only when a quality signal is set.</summary>
    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    /// <summary>Kept only when a quality signal is set.</summary>
    public ChatResponse? Response { get; init; }
}

/// <summary>
/// Carries finished requests to the outcome sinks off the request path: a bounded channel and one background pump
/// that grades (optional quality signal), builds the <see cref="OutcomeRecord"/> and gives it to every sink.
/// </summary>
/// <remarks>
/// Thread-safe. <see cref="Post"/> never blocks: when the pump is <c>capacity</c> records behind, the record is
/// dropped, counted and logged. A failing sink or quality signal is logged and never reaches the request.
/// <c>DisposeAsync</c> drains what was posted (up to a timeout).
/// </remarks>
internal sealed class FeedbackPump : IAsyncDisposable
{
    private readonly Channel<FeedbackItem> _channel;
    private readonly IOutcomeSink[] _sinks;
    private readonly Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? _quality;
    private readonly ILogger _logger;
    private readonly EccosTelemetry _telemetry;
    private readonly int _capacity;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _loop;

    public FeedbackPump(IOutcomeSink[] sinks, Func<EccosQualityContext, CancellationToken, ValueTask<double?>>? quality, int capacity, ILogger logger, EccosTelemetry telemetry)
    {
        _sinks = sinks;
        _quality = quality;
        _capacity = capacity;
        _logger = logger;
        _telemetry = telemetry;
        _channel = Channel.CreateBounded<FeedbackItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _loop = Task.Run(PumpAsync);
    }

    /// <summary>Gets a value indicating whether anything listens (otherwise requests skip building feedback).</summary>
    public bool IsActive => _sinks.Length > 0;

    /// <summary>Gets a value indicating whether the messages and the answer must be kept for a quality signal.</summary>
    public bool NeedsContent => _quality is not null && _sinks.Length > 0;

    public void Post(FeedbackItem item)
    {
        if (!_channel.Writer.TryWrite(item))
        {
            _telemetry.Dropped();
            EccosLog.FeedbackDropped(_logger, item.Query.Id ?? "?", _capacity);
        }
    }

    public async ValueTask DisposeAsync(TimeSpan timeout)
    {
        _channel.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // Past the timeout: cancel the sinks; one that ignores its cancellation is left behind, never waited for.
            await _abort.CancelAsync().ConfigureAwait(false);
            await _loop.WaitAsync(EccosChatClient.AbortGrace).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (_loop.IsCompleted)
        {
            _abort.Dispose(); // a pump left behind still holds the token
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(Timeout.InfiniteTimeSpan);

    internal static OutcomeRecord BuildRecord(FeedbackItem item, double? score)
    {
        ModelOutcome[] outputs = item.Outcomes;
        if (score is not null && item.Served >= 0)
        {
            outputs = (ModelOutcome[])outputs.Clone();
            outputs[item.Served] = outputs[item.Served] with { Quality = score };
        }

        string id = item.Query.Id ?? item.ResponseId ?? Guid.NewGuid().ToString("N", CultureInfo.InvariantCulture);
        return new OutcomeRecord(id, item.Query.Text, item.InputTokens ?? item.Query.InputTokens, outputs, item.Query.Task)
        {
            Timestamp = item.Timestamp,
        };
    }

    private async Task PumpAsync()
    {
        CancellationToken abort = _abort.Token;
        await foreach (FeedbackItem item in _channel.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (abort.IsCancellationRequested)
            {
                continue; // shutting down past the timeout: drain without recording
            }

            double? score = await GradeAsync(item, abort).ConfigureAwait(false);
            OutcomeRecord record = BuildRecord(item, score);
            foreach (IOutcomeSink sink in _sinks)
            {
                try
                {
                    await sink.RecordAsync(record, abort).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
                {
                    EccosLog.SinkFailed(_logger, ex, sink.GetType().Name, record.Id);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    private async ValueTask<double?> GradeAsync(FeedbackItem item, CancellationToken cancellationToken)
    {
        if (_quality is null || item.Served < 0 || item.Response is null || item.Messages is null)
        {
            return null;
        }

        try
        {
            var context = new EccosQualityContext(item.Messages, item.Response, item.Outcomes[item.Served].Model, item.Decision);
            double? score = await _quality(context, cancellationToken).ConfigureAwait(false);
            if (score is { } s && (!double.IsFinite(s) || s < 0 || s > 1))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"The quality signal returned {s}; a score must be in [0, 1] (or null)."));
            }

            return score;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            EccosLog.QualitySignalFailed(_logger, ex, item.Query.Id ?? "?");
            return null;
        }
    }
}

/// <summary>Feeds outcomes to the router's predictor when it is an <see cref="IOutcomeSink"/>, once it exists.</summary>
internal sealed class PredictorSink(Task<PredictorSetup> predictor) : IOutcomeSink
{
    public async ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
    {
        if (!predictor.IsCompletedSuccessfully)
        {
            await ((Task)predictor).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!predictor.IsCompletedSuccessfully)
            {
                return; // no predictor: requests fail, and there is nothing to learn into
            }
        }

        if (predictor.Result.Predictor is IOutcomeSink sink)
        {
            await sink.RecordAsync(record, cancellationToken).ConfigureAwait(false);
        }
    }

    public override string ToString() => "predictor";
}
