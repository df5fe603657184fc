using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <content>The request path: plan, admission, calls, failover, accounting.</content>
public sealed partial class EccosChatClient
{
    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Enter();
        using Activity? activity = StartActivity();
        try
        {
            RoutedRequest request = await BeginAsync(messages, options, activity, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                PoolMember member = await AcquireAsync(request, cancellationToken).ConfigureAwait(false);
                long start = Time.GetTimestamp();
                ChatResponse response;
                try
                {
                    response = await member.Client.GetResponseAsync(request.Messages, OptionsFor(request, member), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    Failed(request, member, ex, start);
                    continue;
                }
                catch (OperationCanceledException ex)
                {
                    Canceled(request, member, ex, start);
                    throw;
                }

                EccosDecision decision = Decide(request, member, Time.GetElapsedTime(start));
                (response.AdditionalProperties ??= [])[EccosDecision.PropertyKey] = decision;
                var tally = new StreamTally(keepUpdates: false);
                tally.Add(response);
                Complete(request, member, start, decision, tally, error: null, abandoned: false, response);
                return response;
            }
        }
        catch (Exception ex) when (MarkError(activity, ex))
        {
            throw; // not reached: MarkError returns false
        }
        finally
        {
            Exit();
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        Enter();
        try
        {
            using Activity? activity = StartActivity();
            RoutedRequest request = await BeginAsync(messages, options, activity, cancellationToken).ConfigureAwait(false);
            PoolMember member;
            IAsyncEnumerator<ChatResponseUpdate> stream;
            bool hasFirst;
            long start;
            while (true)
            {
                member = await AcquireAsync(request, cancellationToken).ConfigureAwait(false);
                start = Time.GetTimestamp();
                IAsyncEnumerator<ChatResponseUpdate>? attempt = null;
                try
                {
                    attempt = member.Client.GetStreamingResponseAsync(request.Messages, OptionsFor(request, member), cancellationToken).GetAsyncEnumerator(cancellationToken);
                    hasFirst = await attempt.MoveNextAsync().ConfigureAwait(false);
                    stream = attempt;
                    break;
                }
                catch (Exception ex) when (!IsCallerCancellation(ex, cancellationToken))
                {
                    await DisposeQuietlyAsync(attempt).ConfigureAwait(false);
                    Failed(request, member, ex, start);
                }
                catch (OperationCanceledException ex)
                {
                    await DisposeQuietlyAsync(attempt).ConfigureAwait(false);
                    Canceled(request, member, ex, start);
                    throw;
                }
            }

            // Committed to this model: from here on an error reaches the caller and no other model is tried.
            var tally = new StreamTally(keepUpdates: _feedback.NeedsContent);
            EccosDecision? decision = null;
            Exception? error = null;
            bool finished = false;
            try
            {
                if (hasFirst)
                {
                    ChatResponseUpdate first = stream.Current;
                    tally.Add(first);
                    decision = Decide(request, member, Time.GetElapsedTime(start));
                    (first.AdditionalProperties ??= [])[EccosDecision.PropertyKey] = decision;
                    yield return first;
                    while (true)
                    {
                        bool more;
                        try
                        {
                            more = await stream.MoveNextAsync().ConfigureAwait(false);
                        }
                        catch (Exception ex)
                        {
                            error = ex;
                            MarkError(activity, ex);
                            throw;
                        }

                        if (!more)
                        {
                            break;
                        }

                        ChatResponseUpdate update = stream.Current;
                        tally.Add(update);
                        yield return update;
                    }
                }

                finished = true;
            }
            finally
            {
                await DisposeQuietlyAsync(stream).ConfigureAwait(false);
                decision ??= Decide(request, member, Time.GetElapsedTime(start));
                Complete(request, member, start, decision, tally, error, abandoned: !finished && error is null, response: null);
            }
        }
        finally
        {
            Exit();
        }
    }

    private static bool IsCallerCancellation(Exception ex, CancellationToken cancellationToken) =>
        ex is OperationCanceledException && cancellationToken.IsCancellationRequested;

    private static bool MarkError(Activity? activity, Exception ex)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            activity.SetTag("error.type", ex.GetType().FullName);
        }

        return false;
    }

    private static string Describe(Exception ex) => ex.GetType().Name + ": " + ex.Message;

    private static async ValueTask DisposeQuietlyAsync(IAsyncEnumerator<ChatResponseUpdate>? stream)
    {
        if (stream is null)
        {
            return;
        }

        try
        {
            await stream.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The stream's own error (if any) was already observed; a failure to clean up must not replace it.
        }
    }

    private Activity? StartActivity()
    {
        Activity? activity = EccosTelemetry.ActivitySource.StartActivity("eccos.route", ActivityKind.Internal);
        activity?.SetTag(EccosTelemetry.RouterTag, Name);
        return activity;
    }

    private async ValueTask<RoutedRequest> BeginAsync(IEnumerable<ChatMessage> messages, ChatOptions? options, Activity? activity, CancellationToken cancellationToken)
    {
        IList<ChatMessage> list = messages as IList<ChatMessage> ?? [.. messages];
        SchedulingQuery query = _queryFactory(list, options);
        RoutePlan plan;
        try
        {
            if (options?.ModelId is { } modelId && Find(modelId) is { } pinned)
            {
                plan = new RoutePlan(EccosRouteReason.Pinned, pinned.Gate.Capacity > 0 ? [pinned.Index] : [], [], CurrentPrices);
            }
            else if (options?.ConversationId is { } conversation && _conversations.TryGet(conversation, out int holder))
            {
                plan = new RoutePlan(EccosRouteReason.ConversationAffinity, [holder], [], CurrentPrices);
            }
            else if (_batcher is not null)
            {
                plan = await _batcher.EnqueueAsync(query, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                plan = await PlanOnlineAsync(query, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Telemetry.RequestDone(null, "canceled");
            throw;
        }
        catch (EccosQueueFullException)
        {
            Telemetry.RequestDone(null, "rejected");
            EccosLog.QueueFull(Logger, query.Id ?? "?");
            throw;
        }

        activity?.SetTag("eccos.reason", plan.Reason.ToString());
        EccosLog.RequestText(Logger, query.Id ?? "?", query.Text);
        return new RoutedRequest(list, options, query, plan, Pool.Length, Time.GetTimestamp(), activity);
    }

    private async ValueTask<RoutePlan> PlanOnlineAsync(SchedulingQuery query, CancellationToken cancellationToken)
    {
        (PredictionMatrix predictions, bool predicted) = await _core.PredictAsync([query], cancellationToken).ConfigureAwait(false);
        Span<bool> eligible = predictions.EligibleRow(0);
        if (predicted)
        {
            _online!.Observe(predictions.QualityRow(0), predictions.CostRow(0), eligible);
        }

        return RoutePlan.Score(EccosRouteReason.Scheduled, Profiles, predictions.QualityRow(0), predictions.CostRow(0), eligible, CurrentPrices, TargetOnPredictions);
    }

    private async ValueTask<PoolMember> AcquireAsync(RoutedRequest request, CancellationToken cancellationToken)
    {
        int pre = request.Plan.PreAcquired;
        if (pre >= 0 && request.Attempts.Count == 0 && !request.Tried[pre])
        {
            request.Tried[pre] = true;
            request.LastQueueWait = TimeSpan.Zero;
            Telemetry.Waited(Pool[pre].Name, TimeSpan.Zero);
            return Pool[pre];
        }

        int[] order = request.Plan.Order;
        bool untried = false;
        foreach (int j in order)
        {
            untried |= !request.Tried[j];
        }

        if (!untried || request.Attempts.Count >= Options.MaxAttempts)
        {
            throw AllFailed(request);
        }

        foreach (int j in order)
        {
            if (!request.Tried[j] && Pool[j].Gate.TryAcquire())
            {
                return Take(request, Pool[j], TimeSpan.Zero);
            }
        }

        foreach (int j in order)
        {
            if (request.Tried[j])
            {
                continue;
            }

            long start = Time.GetTimestamp();
            bool acquired;
            try
            {
                acquired = await Pool[j].Gate.AcquireAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Abandon(request, ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? "canceled" : "failure");
                throw;
            }

            if (acquired)
            {
                return Take(request, Pool[j], Time.GetElapsedTime(start));
            }
        }

        Abandon(request, "rejected");
        EccosLog.QueueFull(Logger, request.Query.Id ?? "?");
        throw new EccosQueueFullException(
            $"Every candidate model ({string.Join(", ", order.Where(j => !request.Tried[j]).Select(j => Pool[j].Name))}) is at its capacity and its queue of {Options.MaxQueueLength} is full.",
            [.. request.Attempts],
            Decision(request, null));
    }

    private PoolMember Take(RoutedRequest request, PoolMember member, TimeSpan waited)
    {
        request.Tried[member.Index] = true;
        request.LastQueueWait = waited;
        _core.SlotTaken(member);
        Telemetry.Waited(member.Name, waited);
        return member;
    }

    private EccosRoutingException AllFailed(RoutedRequest request)
    {
        Abandon(request, "failure");
        if (request.Attempts.Count == 0)
        {
            return new EccosRoutingException(
                "No model of the pool can take this request: every model is ineligible for it or has capacity 0.", [], Decision(request, null));
        }

        string tried = string.Join(", ", request.Attempts.Select(a => a.Model));
        EccosLog.RequestFailed(Logger, request.Query.Id ?? "?", tried);
        string detail = string.Join("; ", request.Attempts.Select(a =>
            string.Create(CultureInfo.InvariantCulture, $"{a.Model} after {a.Duration.TotalMilliseconds:F0} ms: {(a.Error is null ? "no error" : Describe(a.Error))}")));
        return new EccosRoutingException(
            $"The request failed on {request.Attempts.Count} model(s): {detail}.", [.. request.Attempts], Decision(request, null));
    }

    private void Failed(RoutedRequest request, PoolMember member, Exception error, long start)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        _core.ReleaseSlot(member);
        request.Attempts.Add(new EccosAttempt(member.Name, error, duration, request.LastQueueWait));
        EccosLog.AttemptFailed(Logger, error, member.Name, request.Query.Id ?? "?", duration.TotalMilliseconds, request.Attempts.Count, Options.MaxAttempts);
        bool more = request.Attempts.Count < Options.MaxAttempts && request.Plan.Order.Any(j => !request.Tried[j]);
        if (more)
        {
            Telemetry.Failover(member.Name);
        }
    }

    private void Canceled(RoutedRequest request, PoolMember member, OperationCanceledException error, long start)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        _core.ReleaseSlot(member);
        request.Attempts.Add(new EccosAttempt(member.Name, error, duration, request.LastQueueWait));
        Abandon(request, "canceled");
    }

    /// <summary>Ends a request that no model served: metrics and the outcomes of the tries made.</summary>
    private void Abandon(RoutedRequest request, string outcome)
    {
        Telemetry.RequestDone(null, outcome);
        if (request.Attempts.Count > 0 && _feedback.IsActive)
        {
            _feedback.Post(new FeedbackItem
            {
                Query = request.Query,
                Decision = Decision(request, null),
                Outcomes = Outcomes(request, -1, null),
                Timestamp = Time.GetUtcNow(),
            });
        }
    }

    private static EccosDecision Decide(RoutedRequest request, PoolMember member, TimeSpan duration)
    {
        request.Attempts.Add(new EccosAttempt(member.Name, null, duration, request.LastQueueWait));
        return Decision(request, member.Name);
    }

    private static EccosDecision Decision(RoutedRequest request, string? model) =>
        new(model, request.Plan.Reason, request.Query, request.Plan.Candidates, request.Plan.Prices, [.. request.Attempts]);

    private void Complete(RoutedRequest request, PoolMember member, long start, EccosDecision decision, StreamTally tally, Exception? error, bool abandoned, ChatResponse? response)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        _core.ReleaseSlot(member);
        int outputTokens = tally.OutputTokens;
        int inputTokens = tally.InputTokens ?? request.Query.InputTokens;
        double realized = member.Profile.CostOf(inputTokens, outputTokens);
        string outcome = error is null ? abandoned ? "canceled" : "success" : error is OperationCanceledException ? "canceled" : "failure";

        if (error is null && !abandoned)
        {
            member.ObserveLatency(duration);
            if ((tally.ConversationId ?? request.Options?.ConversationId) is { } conversation)
            {
                _conversations.Set(conversation, member.Index);
            }
        }

        double predicted = request.Plan.Candidates.Length > 0 ? request.Plan.Candidates[member.Index].PredictedCost : double.NaN;
        Telemetry.Costs(member.Name, predicted, realized);
        Telemetry.RequestDone(member.Name, outcome);
        if (request.Activity is { } activity)
        {
            activity.SetTag(EccosTelemetry.ModelTag, member.Name);
            activity.SetTag("eccos.attempts", request.Attempts.Count);
            activity.SetTag("eccos.quality_price", request.Plan.Prices?.QualityPrice);
            if (request.Plan.Candidates.Length > 0)
            {
                activity.SetTag("eccos.predicted_quality", request.Plan.Candidates[member.Index].PredictedQuality);
                activity.SetTag("eccos.predicted_cost", predicted);
            }

            activity.SetTag("eccos.cost", realized);
        }

        if (request.Plan.Candidates.Length > 0)
        {
            EccosCandidate chosen = request.Plan.Candidates[member.Index];
            EccosLog.Routed(Logger, request.Query.Id ?? "?", member.Name, request.Plan.Reason, chosen.PredictedQuality, chosen.PredictedCost, request.Plan.Prices?.QualityPrice ?? double.NaN);
        }

        if (!_feedback.IsActive)
        {
            return;
        }

        ModelOutcome served = new(member.Name, null, outputTokens, error is null && !abandoned ? realized : null)
        {
            LatencyMs = duration.TotalMilliseconds,
            Error = error is not null ? Describe(error) : abandoned ? "Abandoned: the caller stopped reading the stream." : null,
        };
        bool graded = error is null && !abandoned && _feedback.NeedsContent;
        _feedback.Post(new FeedbackItem
        {
            Query = request.Query,
            Decision = decision,
            Outcomes = Outcomes(request, member.Index, served),
            Served = error is null && !abandoned ? request.Attempts.Count - 1 : -1,
            InputTokens = tally.InputTokens,
            ResponseId = tally.ResponseId,
            Timestamp = Time.GetUtcNow(),
            Messages = graded ? [.. request.Messages] : null,
            Response = graded ? response ?? tally.ToResponse() : null,
        });
    }

    /// <summary>One outcome per try: the failed ones with their errors, the served one (if any) last.</summary>
    private static ModelOutcome[] Outcomes(RoutedRequest request, int servedModel, ModelOutcome? served)
    {
        var outcomes = new ModelOutcome[request.Attempts.Count];
        for (int k = 0; k < outcomes.Length; k++)
        {
            EccosAttempt a = request.Attempts[k];
            outcomes[k] = served is not null && k == outcomes.Length - 1 && servedModel >= 0
                ? served
                : new ModelOutcome(a.Model, null, 0) { LatencyMs = a.Duration.TotalMilliseconds, Error = a.Error is null ? "Abandoned." : Describe(a.Error) };
        }

        return outcomes;
    }

    private static ChatOptions? OptionsFor(RoutedRequest request, PoolMember member)
    {
        if (member.ModelId is null && request.Plan.Reason != EccosRouteReason.Pinned)
        {
            return request.Options;
        }

        ChatOptions options = request.Options?.Clone() ?? new ChatOptions();
        options.ModelId = member.ModelId; // a pool name used to pin is not the provider's model id
        return options;
    }

    /// <summary>The state of one request across its tries.</summary>
    private sealed class RoutedRequest(IList<ChatMessage> messages, ChatOptions? options, SchedulingQuery query, RoutePlan plan, int models, long arrival, Activity? activity)
    {
        public IList<ChatMessage> Messages { get; } = messages;

        public ChatOptions? Options { get; } = options;

        public SchedulingQuery Query { get; } = query;

        public RoutePlan Plan { get; } = plan;

        public bool[] Tried { get; } = new bool[models];

        public List<EccosAttempt> Attempts { get; } = new(1);

        public TimeSpan LastQueueWait { get; set; }

        public long Arrival { get; } = arrival;

        public Activity? Activity { get; } = activity;
    }

    /// <summary>What a response (or a stream of updates) says about usage, ids and length.</summary>
    private sealed class StreamTally(bool keepUpdates)
    {
        private readonly List<ChatResponseUpdate>? _updates = keepUpdates ? [] : null;
        private UsageDetails? _usage;
        private long _characters;

        public int? InputTokens => _usage?.InputTokenCount is { } n ? (int)Math.Min(n, int.MaxValue) : null;

        public int OutputTokens => _usage?.OutputTokenCount is { } n
            ? (int)Math.Min(n, int.MaxValue)
            : _characters == 0 ? 0 : EstimateTokens(_characters);

        public string? ResponseId { get; private set; }

        public string? ConversationId { get; private set; }

        public void Add(ChatResponse response)
        {
            _usage = response.Usage;
            ResponseId = response.ResponseId;
            ConversationId = response.ConversationId;
            foreach (ChatMessage message in response.Messages)
            {
                CountText(message.Contents);
            }
        }

        public void Add(ChatResponseUpdate update)
        {
            _updates?.Add(update);
            ResponseId ??= update.ResponseId;
            ConversationId ??= update.ConversationId;
            foreach (AIContent content in update.Contents)
            {
                if (content is UsageContent usage)
                {
                    if (_usage is null)
                    {
                        _usage = new UsageDetails();
                    }

                    _usage.Add(usage.Details);
                }
            }

            CountText(update.Contents);
        }

        public ChatResponse ToResponse() => (_updates ?? []).ToChatResponse();

        private void CountText(IList<AIContent> contents)
        {
            foreach (AIContent content in contents)
            {
                if (content is TextContent text)
                {
                    _characters += text.Text.Length;
                }
            }
        }
    }
}
