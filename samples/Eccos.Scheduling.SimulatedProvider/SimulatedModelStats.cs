namespace Eccos.Scheduling.Simulation;

/// <summary>
/// A snapshot of one simulated model's counters since start or the last <see cref="SimulatedProvider.Reset"/>. Each
/// request ends in exactly one of <see cref="Completed"/>, <see cref="Failed"/>, <see cref="Throttled"/> and
/// <see cref="Cancelled"/>, so <c>Received = Completed + Failed + Throttled + Cancelled + InFlight</c> once no request
/// is arriving or ending (each counter is exact; a snapshot taken while requests run reads them one after another).
/// </summary>
/// <remarks>
/// A request is in flight from the moment its body has been read and its model found until just before its last bytes
/// are written (or its connection is aborted), so a client that has read a whole response finds it counted. A request
/// the client abandons (a hang, a cancelled stream) ends when the server notices the disconnect, shortly after.
/// </remarks>
/// <param name="Received">Requests that named the model.</param>
/// <param name="Completed">Requests answered in full (HTTP 200, the whole body or stream).</param>
/// <param name="Failed">Requests given an injected fault: HTTP 500 or 503, a dropped connection, a hang (or a <see cref="SimulatedModelOptions.Respond"/> hook that threw).</param>
/// <param name="Throttled">Requests rejected by a limit: <see cref="SimulatedModelOptions.MaxConcurrency"/> (429 or 503), the request or token window (429).</param>
/// <param name="Cancelled">Admitted requests whose client went away (or whose provider stopped) before the answer was complete, not by an injected fault.</param>
/// <param name="InFlight">Requests of the model now in flight, admitted or not.</param>
/// <param name="MaxInFlight">The largest <see cref="InFlight"/> seen: what the clients sent at once.</param>
/// <param name="Active">Admitted requests now being served (what <see cref="SimulatedModelOptions.MaxConcurrency"/> bounds).</param>
/// <param name="MaxActive">The largest <see cref="Active"/> seen.</param>
/// <param name="PromptTokens">Prompt tokens of the completed requests.</param>
/// <param name="CompletionTokens">Output tokens of the completed requests.</param>
public sealed record SimulatedModelStats(
    long Received,
    long Completed,
    long Failed,
    long Throttled,
    long Cancelled,
    int InFlight,
    int MaxInFlight,
    int Active,
    int MaxActive,
    long PromptTokens,
    long CompletionTokens);
