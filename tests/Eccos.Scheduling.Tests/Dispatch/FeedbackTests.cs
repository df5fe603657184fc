using Eccos.Scheduling.Tests.Dispatch;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Eccos.Scheduling.Tests.Dispatch;

public class FeedbackTests
{
    private static readonly ChatMessage[] Hello = [new(ChatRole.System, "Be brief."), new(ChatRole.User, "What is 2 + 2?")];

    [Test]
    public async Task Every_call_reaches_the_sinks_with_real_usage_cost_latency_and_the_query()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var sink = new CollectingSink();
        var (builder, _, mid, _) = Pools.Three(alpha: 0.7);
        mid.Respond = (_, _, _) =>
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            return Task.FromResult(FakeChatClient.Answer("4", input: 31, output: 2));
        };
        EccosChatClient router = builder.AddOutcomeSink(sink).Build(TestServices.With(time));

        var options = new ChatOptions { AdditionalProperties = new() { [EccosChatClient.TaskPropertyKey] = "math", [EccosChatClient.QueryIdPropertyKey] = "q-17" } };
        await router.GetResponseAsync(Hello, options).Within();
        await router.DisposeAsync(); // flushes the sinks

        Assert.That(sink.Records, Has.Count.EqualTo(1));
        OutcomeRecord record = sink.Records.Single();
        ModelOutcome outcome = record.Outputs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(record.Id, Is.EqualTo("q-17"));
            Assert.That(record.Task, Is.EqualTo("math"));
            Assert.That(record.Text, Is.EqualTo("What is 2 + 2?"));
            Assert.That(record.InputTokens, Is.EqualTo(31));
            Assert.That(record.Timestamp, Is.EqualTo(time.GetUtcNow()));
            Assert.That(outcome.Model, Is.EqualTo("mid"));
            Assert.That(outcome.OutputTokens, Is.EqualTo(2));
            Assert.That(outcome.Cost, Is.EqualTo(Pools.Mid.CostOf(31, 2)).Within(1e-15));
            Assert.That(outcome.LatencyMs, Is.EqualTo(250).Within(1e-6));
            Assert.That(outcome.Error, Is.Null);
            Assert.That(outcome.Quality, Is.Null);
        });
    }

    [Test]
    public async Task Streamed_usage_comes_from_UsageContent_and_failed_tries_are_recorded_with_their_errors()
    {
        var sink = new CollectingSink();
        var (builder, _, mid, strong) = Pools.Three(alpha: 0.7);
        mid.Stream = (_, _, _) => throw new HttpRequestException("429 too many requests");
        EccosChatClient router = builder.AddOutcomeSink(sink).Build();

        await foreach (ChatResponseUpdate _ in router.GetStreamingResponseAsync(Hello))
        {
        }

        await router.DisposeAsync();

        OutcomeRecord record = sink.Records.Single();
        Assert.Multiple(() =>
        {
            Assert.That(record.Outputs.Select(o => o.Model), Is.EqualTo(Seq("mid", "strong")));
            Assert.That(record.Outputs[0].Error, Is.EqualTo("HttpRequestException: 429 too many requests"));
            Assert.That(record.Outputs[0].Cost, Is.Null);
            Assert.That(record.Outputs[1].Error, Is.Null);
            Assert.That(record.InputTokens, Is.EqualTo(7));
            Assert.That(record.Outputs[1].OutputTokens, Is.EqualTo(3));
            Assert.That(record.Outputs[1].Cost, Is.EqualTo(Pools.Strong.CostOf(7, 3)).Within(1e-15));
        });
    }

    [Test]
    public async Task A_quality_signal_scores_the_served_answer_and_a_bad_score_is_logged_not_recorded()
    {
        var sink = new CollectingSink();
        var (logs, collector) = TestLogging.Create();
        var (builder, _, _, _) = Pools.Three(alpha: 0.7);
        EccosQualityContext? seen = null;
        EccosChatClient router = builder.AddOutcomeSink(sink)
            .UseQualitySignal((context, _) =>
            {
                seen = context;
                return ValueTask.FromResult<double?>(context.Messages[^1].Text == "grade me badly" ? 2.0 : 0.75);
            })
            .Build(TestServices.With(logs: logs));

        await router.GetResponseAsync(Hello).Within();
        await foreach (ChatResponseUpdate _ in router.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "grade me badly")]))
        {
        }

        await router.DisposeAsync();

        OutcomeRecord[] records = [.. sink.Records];
        Assert.Multiple(() =>
        {
            Assert.That(records[0].Outputs.Single().Quality, Is.EqualTo(0.75));
            Assert.That(records[1].Outputs.Single().Quality, Is.Null);
            Assert.That(seen!.Response.Text, Is.EqualTo("answer from mid"), "streamed answers are assembled for the signal");
            Assert.That(seen.Model, Is.EqualTo("mid"));
            Assert.That(collector.GetSnapshot().Any(r => r.Level == LogLevel.Warning && r.Id.Id == 10 && r.Exception!.Message.Contains("returned 2", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public async Task A_failing_sink_is_logged_and_neither_breaks_requests_nor_starves_other_sinks()
    {
        var bad = new CollectingSink { Throw = new IOException("disk full") };
        var good = new CollectingSink();
        var (logs, collector) = TestLogging.Create();
        var (builder, _, _, _) = Pools.Three();
        EccosChatClient router = builder.AddOutcomeSink(bad).AddOutcomeSink(good).Build(TestServices.With(logs: logs));

        for (int i = 0; i < 3; i++)
        {
            await router.GetResponseAsync(Hello).Within();
        }

        await router.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(good.Records, Has.Count.EqualTo(3));
            Assert.That(collector.GetSnapshot().Count(r => r.Level == LogLevel.Error && r.Exception is IOException), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task Disposal_flushes_a_slow_sink()
    {
        var slow = new SlowSink();
        var (builder, _, _, _) = Pools.Three();
        EccosChatClient router = builder.AddOutcomeSink(slow).Build();

        for (int i = 0; i < 20; i++)
        {
            await router.GetResponseAsync(Hello).Within();
        }

        await router.DisposeAsync().AsTask().Within();

        Assert.That(slow.Count, Is.EqualTo(20));
    }

    [Test]
    public async Task A_predictor_that_is_a_sink_learns_from_traffic_and_the_log_writer_writes_valid_lines()
    {
        var learner = new LearningPredictor();
        using var stream = new MemoryStream();
        var writer = new OutcomeLogWriter(stream, leaveOpen: true);
        EccosChatClient router = new EccosBuilder()
            .AddModel(new FakeChatClient("a"), new ModelProfile("a", 1, 2))
            .UsePredictor(learner)
            .AddOutcomeSink(writer)
            .Build();

        await router.GetResponseAsync(Hello).Within();
        await router.DisposeAsync();
        await writer.DisposeAsync();

        string line = System.Text.Encoding.UTF8.GetString(stream.ToArray()).Trim();
        OutcomeRecord parsed = OutcomeLog.ParseLine(line);
        Assert.Multiple(() =>
        {
            Assert.That(learner.Learned, Has.Count.EqualTo(1));
            Assert.That(parsed.Outputs.Single().Model, Is.EqualTo("a"));
            Assert.That(parsed.Outputs.Single().LatencyMs, Is.Not.Null);
            Assert.That(parsed.Id, Is.EqualTo(learner.Learned.Single().Id));
        });
    }

    private static string[] Seq(params string[] items) => items;

    private sealed class SlowSink : IOutcomeSink
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public async ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
        {
            await Task.Delay(5, cancellationToken);
            Interlocked.Increment(ref _count);
        }
    }

    private sealed class LearningPredictor : IPredictor, IOutcomeSink
    {
        public List<OutcomeRecord> Learned { get; } = [];

        public ValueTask<PredictionMatrix> PredictAsync(IReadOnlyList<SchedulingQuery> queries, IReadOnlyList<ModelProfile> models, CancellationToken cancellationToken = default)
        {
            var m = new PredictionMatrix(queries.Count, models);
            m.Quality.Fill(0.9);
            return ValueTask.FromResult(m);
        }

        public ValueTask RecordAsync(OutcomeRecord record, CancellationToken cancellationToken = default)
        {
            Learned.Add(record);
            return ValueTask.CompletedTask;
        }
    }
}
