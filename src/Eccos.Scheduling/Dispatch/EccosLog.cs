using Microsoft.Extensions.Logging;

namespace Eccos.Scheduling;

/// <summary>The router's source-generated log messages. No prompt or answer text is logged above Trace.</summary>
internal static partial class EccosLog
{
    [LoggerMessage(1, LogLevel.Debug, "Routed request {QueryId} to {Model} ({Reason}); predicted quality {Quality:F3}, cost {Cost:G4}, λ {QualityPrice:G4}.")]
    public static partial void Routed(ILogger logger, string queryId, string model, EccosRouteReason reason, double quality, double cost, double qualityPrice);

    [LoggerMessage(2, LogLevel.Trace, "Request {QueryId} text: {Text}")]
    public static partial void RequestText(ILogger logger, string queryId, string text);

    [LoggerMessage(3, LogLevel.Warning, "Model {Model} failed request {QueryId} after {DurationMs:F0} ms (attempt {Attempt} of {MaxAttempts}).")]
    public static partial void AttemptFailed(ILogger logger, Exception error, string model, string queryId, double durationMs, int attempt, int maxAttempts);

    [LoggerMessage(4, LogLevel.Error, "Request {QueryId} failed on every model tried: {Models}.")]
    public static partial void RequestFailed(ILogger logger, string queryId, string models);

    [LoggerMessage(5, LogLevel.Warning, "Request {QueryId} rejected: every candidate model is at capacity and its queue is full.")]
    public static partial void QueueFull(ILogger logger, string queryId);

    [LoggerMessage(6, LogLevel.Debug, "Prices re-solved over {WindowSize} requests in {DurationMs:F2} ms: λ {QualityPrice:G4} (solver {SolverPrice:G4}, status {Status}).")]
    public static partial void PricesUpdated(ILogger logger, int windowSize, double durationMs, double qualityPrice, double solverPrice, string status);

    [LoggerMessage(7, LogLevel.Error, "Re-solving the prices failed; the previous prices stay in use.")]
    public static partial void ResolveFailed(ILogger logger, Exception error);

    [LoggerMessage(8, LogLevel.Warning, "The predictor failed for request {QueryId}; routing by the cheapest list price instead.")]
    public static partial void PredictorFailed(ILogger logger, Exception error, string queryId);

    [LoggerMessage(9, LogLevel.Error, "Outcome sink {Sink} failed to record request {QueryId}.")]
    public static partial void SinkFailed(ILogger logger, Exception error, string sink, string queryId);

    [LoggerMessage(10, LogLevel.Warning, "The quality signal failed for request {QueryId}; its outcome is recorded without a score.")]
    public static partial void QualitySignalFailed(ILogger logger, Exception error, string queryId);

    [LoggerMessage(11, LogLevel.Warning, "Outcome of request {QueryId} dropped: the outcome sinks are {Length} records behind.")]
    public static partial void FeedbackDropped(ILogger logger, string queryId, int length);

    [LoggerMessage(12, LogLevel.Debug, "Batch of {Count} solved in {DurationMs:F2} ms: {Assigned} assigned, {Deferred} deferred, status {Status}.")]
    public static partial void BatchSolved(ILogger logger, int count, double durationMs, int assigned, int deferred, AssignmentStatus status);

    [LoggerMessage(13, LogLevel.Error, "Solving a batch of {Count} failed; its requests are routed by the current prices instead.")]
    public static partial void BatchFailed(ILogger logger, Exception error, int count);

    [LoggerMessage(14, LogLevel.Warning, "Disposal timed out after {TimeoutMs:F0} ms with {InFlight} request(s) still in flight.")]
    public static partial void ShutdownTimedOut(ILogger logger, double timeoutMs, int inFlight);

    [LoggerMessage(15, LogLevel.Warning, "Model {Model} is {State} for {DurationMs:F0} ms (HTTP {Status}; 0 when none).")]
    public static partial void HealthChanged(ILogger logger, string model, EccosModelHealth state, double durationMs, int status);

    [LoggerMessage(16, LogLevel.Information, "Model {Model} throttled: its learned request rate is now {Rate} per {WindowSeconds:F0} s.")]
    public static partial void RateLearned(ILogger logger, string model, long rate, double windowSeconds);
}
