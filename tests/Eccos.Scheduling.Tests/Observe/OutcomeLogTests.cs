using System.Text;
using Eccos.Scheduling.Tests.TestSupport;

namespace Eccos.Scheduling.Tests.Observe;

public class OutcomeLogTests
{
    private const string GoodLine =
        """{"id":"q1","task":"math","split":"train","query":"Question: 2+2?","input_tokens":12,"outputs":[{"model":"a","score":1,"output_tokens":5},{"model":"b","score":0.5,"output_tokens":9,"cost":0.00002}]}""";

    [Test]
    public void Parses_every_field()
    {
        OutcomeRecord r = OutcomeLog.ParseLine(GoodLine);
        Assert.Multiple(() =>
        {
            Assert.That(r.Id, Is.EqualTo("q1"));
            Assert.That(r.Task, Is.EqualTo("math"));
            Assert.That(r.Split, Is.EqualTo("train"));
            Assert.That(r.InputTokens, Is.EqualTo(12));
            Assert.That(r.Outputs, Has.Count.EqualTo(2));
            Assert.That(r.Outputs[1], Is.EqualTo(new ModelOutcome("b", 0.5, 9, 0.00002)));
        });
    }

    [TestCase("""{"id":"q","query":"x","input_tokens":-1,"outputs":[]}""", "input_tokens")]
    [TestCase("""{"id":"q","query":"x","input_tokens":3.5,"outputs":[]}""", "input_tokens")]
    [TestCase("""{"query":"x","input_tokens":1,"outputs":[]}""", "'id'")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1}""", "outputs")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1,"split":"dev","outputs":[]}""", "split")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1,"outputs":[{"model":"a","score":2,"output_tokens":1}]}""", "outputs[0].score")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1,"outputs":[{"model":"a","score":1}]}""", "outputs[0].output_tokens")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1,"outputs":[{"model":"a","score":1,"output_tokens":1},{"model":"a","score":1,"output_tokens":1}]}""", "outputs[1].model")]
    [TestCase("""{"id":"q","query":"x","input_tokens":1,"outputs":[{"model":"a","score":1,"output_tokens":1,"cost":-1}]}""", "outputs[0].cost")]
    [TestCase("""not json""", "not valid JSON")]
    public void Malformed_lines_name_source_line_and_field(string line, string expected)
    {
        var ex = Assert.Throws<OutcomeLogFormatException>(() => OutcomeLog.ParseLine(line, "log.jsonl", 7));
        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.StartWith("log.jsonl:7"));
            Assert.That(ex.Message, Does.Contain(expected));
            Assert.That(ex.LineNumber, Is.EqualTo(7));
        });
    }

    [Test]
    public async Task Writer_round_trips_through_reader_including_live_fields()
    {
        var records = new[]
        {
            OutcomeLog.ParseLine(GoodLine),
            new OutcomeRecord("live-1", "hello \"world\"\nline two", 4, [new ModelOutcome("a", null, 17) { LatencyMs = 120.5 }, new ModelOutcome("b", null, 0) { Error = "timeout" }])
            {
                Timestamp = new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero),
            },
        };
        using var stream = new MemoryStream();
        await using (var writer = new OutcomeLogWriter(stream, leaveOpen: true))
        {
            foreach (OutcomeRecord r in records)
            {
                await writer.RecordAsync(r);
            }
        }

        stream.Position = 0;
        var back = new List<OutcomeRecord>();
        await foreach (OutcomeRecord r in OutcomeLog.ReadAsync(stream))
        {
            back.Add(r);
        }

        Assert.That(back, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(back[0].Outputs, Is.EqualTo(records[0].Outputs));
            Assert.That(back[1].Text, Is.EqualTo(records[1].Text));
            Assert.That(back[1].Timestamp, Is.EqualTo(records[1].Timestamp));
            Assert.That(back[1].Outputs[0].Quality, Is.Null);
            Assert.That(back[1].Outputs[0].LatencyMs, Is.EqualTo(120.5));
            Assert.That(back[1].Outputs[1].Error, Is.EqualTo("timeout"));
        });
    }

    [Test]
    public async Task Concurrent_writes_never_interleave_lines()
    {
        using var stream = new MemoryStream();
        await using (var writer = new OutcomeLogWriter(stream, leaveOpen: true))
        {
            await Parallel.ForAsync(0, 400, async (i, ct) =>
                await writer.RecordAsync(new OutcomeRecord($"q{i}", new string('x', i), i, [new ModelOutcome("a", i % 2, i)]), ct));
        }

        string[] lines = Encoding.UTF8.GetString(stream.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(400));
        var ids = lines.Select((l, n) => OutcomeLog.ParseLine(l, "mem", n + 1).Id).ToHashSet();
        Assert.That(ids, Has.Count.EqualTo(400));
    }

    [Test]
    public async Task Writer_after_dispose_throws()
    {
        var writer = new OutcomeLogWriter(new MemoryStream());
        writer.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await writer.RecordAsync(OutcomeLog.ParseLine(GoodLine)));
    }

    [Test]
    public async Task Dataset_rejects_a_model_missing_from_the_catalog_with_line_number()
    {
        string dir = Directory.CreateTempSubdirectory("eccos-ds").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir, "models.json"), """{"models":[{"name":"a","input_price":1,"output_price":2}]}""");
            await File.WriteAllTextAsync(Path.Combine(dir, "outcomes.jsonl"), "\n" + GoodLine + "\n");
            var ex = await Assert.ThrowsAsync<OutcomeLogFormatException>(() => OutcomeDataset.LoadAsync(dir));
            Assert.That(ex!.Message, Does.Contain(":2").And.Contain("'b'").And.Contain("outputs[1].model"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public void Catalog_errors_name_the_model_and_field()
    {
        using var s = new MemoryStream("""{"models":[{"name":"a","input_price":1,"output_price":-2}]}"""u8.ToArray());
        var ex = Assert.Throws<OutcomeLogFormatException>(() => ModelCatalog.Load(s));
        Assert.That(ex!.Message, Does.Contain("models[0].output_price").And.Contain("'a'"));
    }

    [Test]
    public void Random_split_is_seeded_and_complete()
    {
        var catalog = new ModelCatalog([new ModelProfile("a", 1, 1)]);
        var records = Enumerable.Range(0, 100).Select(i => new OutcomeRecord($"q{i}", "t", 1, [new ModelOutcome("a", 1, 1)])).ToList();
        var ds = new OutcomeDataset("d", catalog, records);
        var (train, test) = ds.Split(seed: 3);
        var (train2, _) = ds.Split(seed: 3);
        Assert.Multiple(() =>
        {
            Assert.That(train, Has.Count.EqualTo(70));
            Assert.That(test, Has.Count.EqualTo(30));
            Assert.That(train.Select(r => r.Id), Is.EqualTo(train2.Select(r => r.Id)));
            Assert.That(train.Concat(test).Select(r => r.Id).Distinct().Count(), Is.EqualTo(100));
        });
    }

    [Test]
    public async Task Mmlu_pro_loads_with_its_fixed_split()
    {
        string dir = SharedData.RequireDataset("mmlu-pro");
        OutcomeDataset ds = await OutcomeDataset.LoadAsync(dir);
        var (train, test) = ds.Split();
        Assert.Multiple(() =>
        {
            Assert.That(ds.Records, Has.Count.EqualTo(12_032));
            Assert.That(ds.Catalog.Models, Has.Count.EqualTo(12));
            Assert.That(train, Has.Count.EqualTo(8_446));
            Assert.That(test, Has.Count.EqualTo(3_586));
        });
    }
}
