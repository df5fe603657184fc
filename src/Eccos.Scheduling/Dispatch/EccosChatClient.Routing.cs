using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling;

/// <content>The request path: plan, admission, tries with timeouts, failover, accounting.</content>
public sealed partial class EccosChatClient
{
    private static long _sequence;

    /// <inheritdoc />
    /// <exception cref="ArgumentException">A message is null, or <see cref="ChatOptions.ModelId"/> names no model of the pool.</exception>
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        IList<ChatMessage> list = Materialize(messages);
        Enter();
        using Activity? activity = StartActivity();
        try
        {
            RoutedRequest request = await BeginAsync(list, options, activity, cancellationToken).ConfigureAwait(false);
            while (true)
            {
                Grant grant = await AdmitAsync(request, cancellationToken).ConfigureAwait(false);
                PoolMember member = grant.Member;
                long start = Time.GetTimestamp();
                using var attempt = new AttemptScope(this, member, streaming: false, cancellationToken);
                ChatResponse response;
                try
                {
                    response = await member.Client.GetResponseAsync(request.Messages, OptionsFor(request, member), attempt.Token).ConfigureAwait(false);
                    CheckResponse(response, member);
                }
                catch (Exception ex) when (attempt.Classify(ex) is { } failure)
                {
                    Failed(request, grant, failure, start);
                    continue;
                }
                catch (Exception ex)
                {
                    Canceled(request, grant, ex, start);
                    throw attempt.Final(ex);
                }

                EccosDecision decision = Decide(request, member, Time.GetElapsedTime(start));
                var tally = new StreamTally(keepUpdates: false);
                tally.Add(response);
                Complete(request, grant, start, decision, tally, error: null, abandoned: false, response, blame: false);
                return WithDecision(response, decision);
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
    /// <exception cref="ArgumentException">A message is null, or <see cref="ChatOptions.ModelId"/> names no model of the pool.</exception>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        StreamAsync(Materialize(messages), options, cancellationToken);

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(IList<ChatMessage> messages, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Enter();
        try
        {
            using Activity? activity = StartActivity();
            RoutedRequest request = await BeginAsync(messages, options, activity, cancellationToken).ConfigureAwait(false);
            Grant grant;
            IAsyncEnumerator<ChatResponseUpdate> stream;
            AttemptScope scope;
            bool hasFirst;
            long start;
            while (true)
            {
                grant = await AdmitAsync(request, cancellationToken).ConfigureAwait(false);
                start = Time.GetTimestamp();
                scope = new AttemptScope(this, grant.Member, streaming: true, cancellationToken);
                IAsyncEnumerator<ChatResponseUpdate>? attempt = null;
                try
                {
                    attempt = grant.Member.Client.GetStreamingResponseAsync(request.Messages, OptionsFor(request, grant.Member), scope.Token).GetAsyncEnumerator(scope.Token);
                    hasFirst = await attempt.MoveNextAsync().ConfigureAwait(false);
                    if (hasFirst && attempt.Current is null)
                    {
                        throw new InvalidOperationException($"Model '{grant.Member.Name}' streamed a null update.");
                    }

                    scope.FirstUpdate();
                    stream = attempt;
                    break;
                }
                catch (Exception ex) when (scope.Classify(ex) is { } failure)
                {
                    await DisposeQuietlyAsync(attempt).ConfigureAwait(false);
                    scope.Dispose();
                    Failed(request, grant, failure, start);
                }
                catch (Exception ex)
                {
                    await DisposeQuietlyAsync(attempt).ConfigureAwait(false);
                    scope.Dispose();
                    Canceled(request, grant, ex, start);
                    throw scope.Final(ex);
                }
            }

            // Committed to this model: from here on an error reaches the caller and no other model is tried.
            var tally = new StreamTally(keepUpdates: _feedback.NeedsContent);
            EccosDecision? decision = null;
            Exception? error = null;
            bool blame = false;
            bool finished = false;
            try
            {
                if (hasFirst)
                {
                    ChatResponseUpdate first = stream.Current;
                    tally.Add(first);
                    decision = Decide(request, grant.Member, Time.GetElapsedTime(start));
                    yield return WithDecision(first, decision);
                    while (true)
                    {
                        bool more;
                        try
                        {
                            more = await stream.MoveNextAsync().ConfigureAwait(false);
                            if (more && stream.Current is null)
                            {
                                throw new InvalidOperationException($"Model '{grant.Member.Name}' streamed a null update.");
                            }
                        }
                        catch (Exception ex)
                        {
                            AttemptFailure? failure = scope.Classify(ex);
                            blame = failure is not null;
                            error = failure?.Error ?? scope.Final(ex);
                            MarkError(activity, error);
                            if (!ReferenceEquals(error, ex))
                            {
                                throw error;
                            }

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
                scope.Dispose();
                decision ??= Decide(request, grant.Member, Time.GetElapsedTime(start));
                Complete(request, grant, start, decision, tally, error, abandoned: !finished && error is null, response: null, blame);
            }
        }
        finally
        {
            Exit();
        }
    }

    private static IList<ChatMessage> Materialize(IEnumerable<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        IList<ChatMessage> list = messages as IList<ChatMessage> ?? [.. messages];
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] is null)
            {
                throw new ArgumentException($"messages[{i}] is null.", nameof(messages));
            }
        }

        return list;
    }

    /// <summary>A model's answer must be an answer: a response object whose messages are not null.</summary>
    private static void CheckResponse(ChatResponse? response, PoolMember member)
    {
        if (response is null)
        {
            throw new InvalidOperationException($"Model '{member.Name}' returned no response (null).");
        }

        foreach (ChatMessage message in response.Messages)
        {
            if (message is null)
            {
                throw new InvalidOperationException($"Model '{member.Name}' returned a response with a null message.");
            }
        }
    }

    /// <summary>The caller's response: a copy of the model's, with the decision among its additional properties (the model's object is never changed).</summary>
    private static ChatResponse WithDecision(ChatResponse response, EccosDecision decision)
    {
        var copy = new ChatResponse(response.Messages)
        {
            ResponseId = response.ResponseId,
            ConversationId = response.ConversationId,
            ModelId = response.ModelId,
            CreatedAt = response.CreatedAt,
            FinishReason = response.FinishReason,
            Usage = response.Usage,
            RawRepresentation = response.RawRepresentation,
            ContinuationToken = response.ContinuationToken,
            AdditionalProperties = response.AdditionalProperties?.Clone() ?? [],
        };
        copy.AdditionalProperties[EccosDecision.PropertyKey] = decision;
        return copy;
    }

    private static ChatResponseUpdate WithDecision(ChatResponseUpdate update, EccosDecision decision)
    {
        ChatResponseUpdate copy = update.Clone();
        copy.AdditionalProperties = update.AdditionalProperties?.Clone() ?? [];
        copy.AdditionalProperties[EccosDecision.PropertyKey] = decision;
        return copy;
    }

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

    private async ValueTask<RoutedRequest> BeginAsync(IList<ChatMessage> messages, ChatOptions? options, Activity? activity, CancellationToken cancellationToken)
    {
        SchedulingQuery query = _queryFactory(messages, options);
        RoutePlan plan;
        try
        {
            if (options?.ModelId is { } modelId)
            {
                PoolMember pinned = FindPinned(modelId)
                    ?? throw new ArgumentException(
                        $"ChatOptions.ModelId '{modelId}' names no model of the pool ({string.Join(", ", _core.Names)}); leave it null to let Eccos route.", nameof(options));
                plan = RoutePlan.Fixed(EccosRouteReason.Pinned, pinned.Index, Pool.Length, query.InputTokens, CurrentPrices);
            }
            else if (options?.ConversationId is { } conversation && _conversations.TryGet(conversation, out int holder))
            {
                plan = RoutePlan.Fixed(EccosRouteReason.ConversationAffinity, holder, Pool.Length, query.InputTokens, CurrentPrices);
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
        return new RoutedRequest(this, messages, options, query, plan, Pool.Length, Interlocked.Increment(ref _sequence), activity);
    }

    /// <summary>The pool model a <see cref="ChatOptions.ModelId"/> pins: by pool name, else by the provider model id it is configured with.</summary>
    private PoolMember? FindPinned(string modelId) =>
        Find(modelId) ?? Pool.FirstOrDefault(m => string.Equals(m.ModelId, modelId, StringComparison.Ordinal));

    private async ValueTask<RoutePlan> PlanOnlineAsync(SchedulingQuery query, CancellationToken cancellationToken)
    {
        (PredictionMatrix predictions, bool predicted) = await _core.PredictAsync([query], cancellationToken).ConfigureAwait(false);
        Span<bool> eligible = predictions.EligibleRow(0);
        if (predicted)
        {
            _online!.Observe(predictions.QualityRow(0), predictions.CostRow(0), eligible);
        }

        return RoutePlan.Scored(EccosRouteReason.Scheduled, Pool, query.InputTokens, predictions.QualityRow(0), predictions.CostRow(0), predictions.OutputTokensRow(0), eligible, CurrentPrices);
    }

    private async ValueTask<Grant> AdmitAsync(RoutedRequest request, CancellationToken cancellationToken)
    {
        if (request.Plan.PreGranted is { } pre && request.Attempts.Count == 0 && !request.Tried[pre.Member.Index])
        {
            request.Plan.PreGranted = null;
            request.Tried[pre.Member.Index] = true;
            request.LastQueueWait = TimeSpan.Zero;
            Telemetry.Waited(pre.Member.Name, TimeSpan.Zero);
            Telemetry.ActiveChanged(pre.Member.Name, 1);
            return pre;
        }

        if (request.Attempts.Count >= Options.MaxAttempts)
        {
            throw AllFailed(request);
        }

        long start = Time.GetTimestamp();
        Grant grant;
        try
        {
            grant = await _dispatcher.AdmitAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Dispatcher.NoCandidateException)
        {
            throw AllFailed(request);
        }
        catch (LimitTooSmallException never)
        {
            Abandon(request, "failure");
            throw new EccosRoutingException(never.Message, [.. request.Attempts], Decision(request, null));
        }
        catch (EccosQueueFullException full)
        {
            Abandon(request, "rejected");
            EccosLog.QueueFull(Logger, request.Query.Id ?? "?");
            throw new EccosQueueFullException(full.Message, [.. request.Attempts], Decision(request, null));
        }
        catch (Exception ex)
        {
            Abandon(request, ex is OperationCanceledException && cancellationToken.IsCancellationRequested ? "canceled" : "failure");
            throw;
        }

        TimeSpan waited = Time.GetElapsedTime(start);
        request.Tried[grant.Member.Index] = true;
        request.LastQueueWait = waited;
        Telemetry.Waited(grant.Member.Name, waited);
        Telemetry.ActiveChanged(grant.Member.Name, 1);
        return grant;
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

    /// <summary>A try failed: the model's health hears of it, its admission ends, the next try (if any) follows.</summary>
    private void Failed(RoutedRequest request, Grant grant, AttemptFailure failure, long start)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        PoolMember member = grant.Member;
        FailureKind kind = ReportFailure(member, grant.Probe, failure);
        grant.Settle(kind == FailureKind.Throttled ? 0 : request.Query.InputTokens); // a throttled call used nothing; a failed one, its prompt
        grant.Dispose();
        Telemetry.ActiveChanged(member.Name, -1);
        request.Attempts.Add(new EccosAttempt(member.Name, failure.Error, duration, request.LastQueueWait));
        EccosLog.AttemptFailed(Logger, failure.Error, member.Name, request.Query.Id ?? "?", duration.TotalMilliseconds, request.Attempts.Count, Options.MaxAttempts);
        if (request.Attempts.Count < Options.MaxAttempts && request.Plan.FixedModel < 0)
        {
            Telemetry.Failover(member.Name);
        }
    }

    private FailureKind ReportFailure(PoolMember member, bool probe, AttemptFailure failure)
    {
        (FailureKind kind, int? status, TimeSpan? retryAfter) = failure.Timeout
            ? (FailureKind.Failure, null, null)
            : FailureClassifier.Classify(failure.Error, Time.GetUtcNow());
        if (kind == FailureKind.Throttled)
        {
            Telemetry.Throttled(member.Name, status ?? 0);
            if (Options.Health.LearnRateLimits)
            {
                long learned = member.Throttled(Time);
                if (learned != long.MaxValue)
                {
                    EccosLog.RateLearned(Logger, member.Name, learned, Options.RateWindow.TotalSeconds);
                }
            }
        }

        if (member.Health.Failed(probe, kind, retryAfter) is { } started)
        {
            Telemetry.HealthChanged(member.Name, started.State);
            EccosLog.HealthChanged(Logger, member.Name, started.State, started.For.TotalMilliseconds, status ?? 0);
        }

        return kind;
    }

    /// <summary>The caller stopped (or the router was disposed) during a try: the model is not blamed.</summary>
    private void Canceled(RoutedRequest request, Grant grant, Exception error, long start)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        if (grant.Probe)
        {
            grant.Member.Health.CancelProbe();
        }

        grant.Dispose();
        Telemetry.ActiveChanged(grant.Member.Name, -1);
        request.Attempts.Add(new EccosAttempt(grant.Member.Name, error, duration, request.LastQueueWait));
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

    private void Complete(RoutedRequest request, Grant grant, long start, EccosDecision decision, StreamTally tally, Exception? error, bool abandoned, ChatResponse? response, bool blame)
    {
        TimeSpan duration = Time.GetElapsedTime(start);
        PoolMember member = grant.Member;
        int outputTokens = tally.OutputTokens;
        int inputTokens = tally.InputTokens ?? request.Query.InputTokens;
        grant.Settle(inputTokens + outputTokens);
        member.ObserveTokens(inputTokens + outputTokens);
        if (blame)
        {
            ReportFailure(member, grant.Probe, new AttemptFailure(error!, Timeout: error is TimeoutException));
        }
        else if (error is null && !abandoned)
        {
            member.Health.Succeeded(grant.Probe);
            member.Succeeded(Options.RateWindow, Time);
        }
        else if (grant.Probe)
        {
            member.Health.CancelProbe(); // the caller stopped: the probe says nothing
        }

        grant.Dispose();
        Telemetry.ActiveChanged(member.Name, -1);
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

    /// <summary>Why a try failed, and whether its own timeout ended it.</summary>
    private sealed record AttemptFailure(Exception Error, bool Timeout);

    /// <summary>
    /// The cancellation of one try: the caller's token, the router's abort (after <see cref="EccosOptions.ShutdownTimeout"/>
    /// of a disposal), and the try's own deadlines — the first update of a stream, and the whole try.
    /// </summary>
    private sealed class AttemptScope : IDisposable
    {
        private readonly EccosChatClient _router;
        private readonly CancellationToken _caller;
        private readonly CancellationTokenSource? _deadline;
        private readonly CancellationTokenSource _linked;
        private readonly TimeSpan? _total;
        private readonly TimeSpan? _firstToken;
        private readonly long _start;
        private bool _streamingStarted;

        public AttemptScope(EccosChatClient router, PoolMember member, bool streaming, CancellationToken caller)
        {
            _router = router;
            _caller = caller;
            _total = member.AttemptTimeout;
            _firstToken = streaming ? member.FirstTokenTimeout : null;
            _start = router.Time.GetTimestamp();
            TimeSpan? first = Min(_firstToken, _total);
            if (first is { } due)
            {
                _deadline = new CancellationTokenSource(due, router.Time);
            }

            _linked = _deadline is null
                ? CancellationTokenSource.CreateLinkedTokenSource(caller, router._abort.Token)
                : CancellationTokenSource.CreateLinkedTokenSource(caller, router._abort.Token, _deadline.Token);
            Member = member;
        }

        public PoolMember Member { get; }

        public CancellationToken Token => _linked.Token;

        private bool TimedOut => _deadline?.IsCancellationRequested == true && !_caller.IsCancellationRequested && !_router._abort.IsCancellationRequested;

        /// <summary>The first update arrived: from now on only the whole try's deadline applies.</summary>
        public void FirstUpdate()
        {
            _streamingStarted = true;
            if (_deadline is not null && _firstToken is not null && !_deadline.IsCancellationRequested)
            {
                if (_total is { } total)
                {
                    TimeSpan left = total - _router.Time.GetElapsedTime(_start);
                    _deadline.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                }
                else
                {
                    _deadline.CancelAfter(Timeout.InfiniteTimeSpan);
                }
            }
        }

        /// <summary>Returns the failure to fail over from, or null when the caller's cancellation or the router's abort ended the try.</summary>
        public AttemptFailure? Classify(Exception ex)
        {
            if (TimedOut)
            {
                string what = !_streamingStarted && _firstToken is { } first && Min(_firstToken, _total) == first
                    ? string.Create(CultureInfo.InvariantCulture, $"no first update within {first.TotalMilliseconds:F0} ms")
                    : string.Create(CultureInfo.InvariantCulture, $"no complete answer within {_total!.Value.TotalMilliseconds:F0} ms");
                return new AttemptFailure(new TimeoutException($"Model '{Member.Name}': {what}; the call was cancelled.", ex), Timeout: true);
            }

            if (_caller.IsCancellationRequested || _router._abort.IsCancellationRequested)
            {
                return null;
            }

            return new AttemptFailure(ex, Timeout: false);
        }

        /// <summary>What the caller gets when the try ends without a failover: its own cancellation, or the router's disposal.</summary>
        public Exception Final(Exception ex) =>
            !_caller.IsCancellationRequested && _router._abort.IsCancellationRequested
                ? new ObjectDisposedException(nameof(EccosChatClient), $"The Eccos router was disposed; the call to '{Member.Name}' was cancelled after the shutdown timeout.")
                : ex;

        public void Dispose()
        {
            _linked.Dispose();
            _deadline?.Dispose();
        }

        private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;
    }

    /// <summary>The state of one request across its tries.</summary>
    private sealed class RoutedRequest(EccosChatClient router, IList<ChatMessage> messages, ChatOptions? options, SchedulingQuery query, RoutePlan plan, int models, long sequence, Activity? activity)
        : IAdmissionRequest
    {
        public IList<ChatMessage> Messages { get; } = messages;

        public ChatOptions? Options { get; } = options;

        public SchedulingQuery Query { get; } = query;

        public RoutePlan Plan { get; } = plan;

        public bool[] Tried { get; } = new bool[models];

        public List<EccosAttempt> Attempts { get; } = new(1);

        public TimeSpan LastQueueWait { get; set; }

        public long Sequence { get; } = sequence;

        public Activity? Activity { get; } = activity;

        public int Rank(Span<int> order) => Plan.Rank(Tried, router.CurrentPrices, router.TargetOnPredictions, order);

        public int Tokens(int model) => Plan.Tokens[model];
    }

    /// <summary>What a response (or a stream of updates) says about usage, ids and length.</summary>
    private sealed class StreamTally(bool keepUpdates)
    {
        private readonly List<ChatResponseUpdate>? _updates = keepUpdates ? [] : null;
        private UsageDetails? _usage;
        private long _characters;

        public int? InputTokens => _usage?.InputTokenCount is { } n ? (int)Math.Clamp(n, 0, int.MaxValue) : null;

        public int OutputTokens => _usage?.OutputTokenCount is { } n
            ? (int)Math.Clamp(n, 0, int.MaxValue)
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
                    _usage ??= new UsageDetails();
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
