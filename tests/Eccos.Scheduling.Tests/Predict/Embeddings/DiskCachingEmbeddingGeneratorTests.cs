using Eccos.Scheduling.Tests.Predict.Knn;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Predict.Embeddings;

public class DiskCachingEmbeddingGeneratorTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("eccos-embcache-").FullName;

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public async Task Second_call_is_served_from_disk_and_only_misses_reach_the_inner_generator()
    {
        var inner = new FakeEmbeddingGenerator(3);
        using IEmbeddingGenerator<string, Embedding<float>> cached = inner.AsBuilder().UseDiskCache(_directory).Build();
        Assert.That(cached.GetService<DiskCachingEmbeddingGenerator>()!.CacheDirectory, Is.EqualTo(Path.GetFullPath(_directory)));

        string a = FakeEmbeddingGenerator.Text(1, 2, 3), b = FakeEmbeddingGenerator.Text(4, 5, 6), c = FakeEmbeddingGenerator.Text(7, 8, 9);
        GeneratedEmbeddings<Embedding<float>> first = await cached.GenerateAsync([a, b]);
        Assert.That(inner.Texts, Is.EqualTo(2));

        // A fresh generator over the same folder (another process, a later run) finds them.
        var inner2 = new FakeEmbeddingGenerator(3);
        using IEmbeddingGenerator<string, Embedding<float>> cached2 = inner2.AsBuilder().UseDiskCache(_directory).Build();
        GeneratedEmbeddings<Embedding<float>> second = await cached2.GenerateAsync([b, c, a]);
        Assert.Multiple(() =>
        {
            Assert.That(inner2.Texts, Is.EqualTo(1), "only c is new");
            Assert.That(inner2.Calls, Is.EqualTo(1), "the misses go in one call");
            Assert.That(second[0].Vector.ToArray(), Is.EqualTo(first[1].Vector.ToArray()));
            Assert.That(second[1].Vector.ToArray(), Is.EqualTo((float[])[7, 8, 9]));
            Assert.That(second[2].Vector.ToArray(), Is.EqualTo((float[])[1, 2, 3]));
        });
    }

    [Test]
    public async Task Generators_with_other_models_or_dimensions_do_not_share_entries()
    {
        string text = FakeEmbeddingGenerator.Text(1, 2, 3);
        var one = new FakeEmbeddingGenerator(3, "model-one");
        var two = new FakeEmbeddingGenerator(3, "model-two");
        using var cachedOne = new DiskCachingEmbeddingGenerator(one, _directory);
        using var cachedTwo = new DiskCachingEmbeddingGenerator(two, _directory);
        await cachedOne.GenerateAsync([text]);
        await cachedTwo.GenerateAsync([text]);
        await cachedTwo.GenerateAsync([text], new EmbeddingGenerationOptions { Dimensions = 3 });
        Assert.Multiple(() =>
        {
            Assert.That(one.Texts, Is.EqualTo(1));
            Assert.That(two.Texts, Is.EqualTo(2), "other options, other entry");
        });
    }

    [Test]
    public async Task A_corrupt_or_truncated_entry_is_a_miss_and_is_rewritten()
    {
        var inner = new FakeEmbeddingGenerator(3);
        using var cached = new DiskCachingEmbeddingGenerator(inner, _directory);
        string text = FakeEmbeddingGenerator.Text(1, 2, 3);
        await cached.GenerateAsync([text]);
        string file = Directory.EnumerateFiles(_directory, "*.emb", SearchOption.AllDirectories).Single();

        byte[] bytes = await File.ReadAllBytesAsync(file);
        bytes[^1] ^= 0x10;
        await File.WriteAllBytesAsync(file, bytes);
        GeneratedEmbeddings<Embedding<float>> again = await cached.GenerateAsync([text]);
        Assert.That(inner.Texts, Is.EqualTo(2), "checksum mismatch: recomputed");
        Assert.That(again[0].Vector.ToArray(), Is.EqualTo((float[])[1, 2, 3]));

        await File.WriteAllBytesAsync(file, bytes[..7]);
        await cached.GenerateAsync([text]);
        Assert.That(inner.Texts, Is.EqualTo(3), "truncated: recomputed");
        await cached.GenerateAsync([text]);
        Assert.That(inner.Texts, Is.EqualTo(3), "and rewritten whole");
    }

    [Test]
    public void Entries_encode_and_decode_and_reject_damage()
    {
        float[] v = [0.5f, -1.25f, 3e-8f];
        byte[] entry = DiskCachingEmbeddingGenerator.Encode(v);
        Assert.Multiple(() =>
        {
            Assert.That(DiskCachingEmbeddingGenerator.Decode(entry, 3), Is.EqualTo(v));
            Assert.That(DiskCachingEmbeddingGenerator.Decode(entry, null), Is.EqualTo(v));
            Assert.That(DiskCachingEmbeddingGenerator.Decode(entry, 4), Is.Null, "other dimensions than the generator reports");
            Assert.That(DiskCachingEmbeddingGenerator.Decode(entry.AsSpan(0, entry.Length - 1), 3), Is.Null);
            Assert.That(DiskCachingEmbeddingGenerator.Decode([], 3), Is.Null);
        });
    }

    [Test]
    public async Task Concurrent_callers_get_correct_embeddings()
    {
        var inner = new FakeEmbeddingGenerator(3);
        using var cached = new DiskCachingEmbeddingGenerator(inner, _directory);
        string[] texts = [.. Enumerable.Range(0, 40).Select(i => FakeEmbeddingGenerator.Text(i, i + 1, i + 2))];
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(async () =>
        {
            string[] mine = [.. texts.Skip(t * 3).Take(20)];
            GeneratedEmbeddings<Embedding<float>> e = await cached.GenerateAsync(mine);
            for (int i = 0; i < mine.Length; i++)
            {
                int n = (t * 3) + i;
                Assert.That(e[i].Vector.ToArray(), Is.EqualTo((float[])[n, n + 1, n + 2]));
            }
        })));
        Assert.That(Directory.EnumerateFiles(_directory, "*.tmp", SearchOption.AllDirectories), Is.Empty);
    }

    [Test]
    public void Disposing_the_cache_disposes_the_inner_generator()
    {
        var inner = new FakeEmbeddingGenerator(3);
        var cached = new DiskCachingEmbeddingGenerator(inner, _directory);
        cached.Dispose();
        Assert.That(inner.Disposed, Is.True);
    }

    [Test]
    public async Task Cancellation_is_honoured()
    {
        using var cached = new DiskCachingEmbeddingGenerator(new FakeEmbeddingGenerator(3), _directory);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        Assert.That(async () => await cached.GenerateAsync([FakeEmbeddingGenerator.Text(1, 2, 3)], null, cancelled.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(() => new DiskCachingEmbeddingGenerator(new FakeEmbeddingGenerator(3), " "), Throws.ArgumentException);
    }
}
