namespace Eccos.Scheduling;

/// <summary>Receives outcome records as they happen: an outcome log file, a predictor that learns online, a metrics pipeline.</summary>
/// <remarks>Implementations must accept concurrent calls from several threads.</remarks>
public interface IOutcomeSink
{
    /// <summary>Records one outcome.</summary>
    /// <param name="record">The query and what the model(s) did with it.</param>
    /// <param name="cancellationToken">Cancels the recording.</param>
    /// <returns>A task that completes when the record is accepted.</returns>
    ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default);
}
