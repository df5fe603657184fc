using System.Numerics.Tensors;
using Microsoft.Extensions.AI;

namespace Eccos.Scheduling.Tests.Predict.Embeddings;

public class HashingEmbeddingGeneratorTests
{
    private static readonly string[] Topics = ["photosynthesis in plants", "tort law and negligence", "prime numbers and divisors", "supply and demand curves", "the french revolution"];

    [Test]
    public async Task Embeddings_are_normalized_have_the_configured_dimensions_and_are_stable_across_instances()
    {
        using var a = new HashingEmbeddingGenerator();
        using var b = new HashingEmbeddingGenerator(new HashingEmbeddingGeneratorOptions { Dimensions = 100 });
        GeneratedEmbeddings<Embedding<float>> ea = await a.GenerateAsync(["The mitochondria is the powerhouse of the cell.", ""]);
        GeneratedEmbeddings<Embedding<float>> again = await new HashingEmbeddingGenerator().GenerateAsync(["The mitochondria is the powerhouse of the cell."]);
        GeneratedEmbeddings<Embedding<float>> eb = await b.GenerateAsync(["The mitochondria is the powerhouse of the cell."]);
        Assert.Multiple(() =>
        {
            Assert.That(ea[0].Vector.Length, Is.EqualTo(384));
            Assert.That(eb[0].Vector.Length, Is.EqualTo(100));
            Assert.That(TensorPrimitives.Norm(ea[0].Vector.Span), Is.EqualTo(1f).Within(1e-5));
            Assert.That(TensorPrimitives.Norm(ea[1].Vector.Span), Is.Zero, "an empty text has no features");
            Assert.That(again[0].Vector.ToArray(), Is.EqualTo(ea[0].Vector.ToArray()));
            Assert.That(ea[0].ModelId, Is.EqualTo(a.ModelId));
            Assert.That(a.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions, Is.EqualTo(384));
            Assert.That(a.ModelId, Is.Not.EqualTo(b.ModelId));
        });
    }

    [Test]
    public async Task Hashing_is_stable_across_processes_not_randomized()
    {
        // string.GetHashCode is randomized per process; these values were computed once and must never change.
        using var generator = new HashingEmbeddingGenerator(new HashingEmbeddingGeneratorOptions { Dimensions = 16, MaxWordNGram = 2, CharNGramWeight = 0.5f });
        float[] v = (await generator.GenerateAsync(["Stable hashing"]))[0].Vector.ToArray();
        Assert.That(v, Is.EqualTo(StableVector).Within(1e-6f));
    }

    private static readonly float[] StableVector =
    [
        0.2890269f, -0.55155355f, 0.07225672f, -0.14451344f, 0.55155355f, 0f, 0f, -0.14451344f,
        0f, 0f, 0f, 0.47929683f, 0.07225672f, 0f, 0.14451344f, 0.07225672f,
    ];

    [Test]
    public async Task Related_texts_are_closer_than_unrelated_ones()
    {
        using var generator = new HashingEmbeddingGenerator();
        GeneratedEmbeddings<Embedding<float>> e = await generator.GenerateAsync(
        [
            "What is the derivative of the function x squared?",
            "Compute the derivative of the function x cubed.",
            "Which court ruled on the contract dispute between the merchants?",
        ]);
        float related = TensorPrimitives.Dot(e[0].Vector.Span, e[1].Vector.Span);
        float unrelated = TensorPrimitives.Dot(e[0].Vector.Span, e[2].Vector.Span);
        Assert.That(related, Is.GreaterThan(unrelated + 0.2f));
    }

    [Test]
    public async Task Fitting_drops_the_shared_template_so_only_content_remains()
    {
        string[] corpus =
        [
            .. Topics.Select(Prompt),
        ];
        using var raw = new HashingEmbeddingGenerator();
        using HashingEmbeddingGenerator fitted = HashingEmbeddingGenerator.Fit(corpus, new HashingEmbeddingGeneratorOptions { MaxDocumentFrequency = 0.5 });
        GeneratedEmbeddings<Embedding<float>> r = await raw.GenerateAsync([corpus[0], corpus[1]]);
        GeneratedEmbeddings<Embedding<float>> f = await fitted.GenerateAsync([corpus[0], corpus[1], "Options:\nA. yes\nB. no\nC. maybe\nD. never\nAnswer:"]);
        Assert.Multiple(() =>
        {
            Assert.That(fitted.IsFitted, Is.True);
            Assert.That(raw.IsFitted, Is.False);
            Assert.That(TensorPrimitives.Dot(r[0].Vector.Span, r[1].Vector.Span), Is.GreaterThan(0.5f), "unfitted, the template dominates");
            Assert.That(Math.Abs(TensorPrimitives.Dot(f[0].Vector.Span, f[1].Vector.Span)), Is.LessThan(0.2f), "fitted, only the content is compared");
            Assert.That(TensorPrimitives.Norm(f[2].Vector.Span), Is.Zero, "the template alone has no content left");
            Assert.That(fitted.ModelId, Does.Contain("-fit"));
        });
    }

    [Test]
    public async Task Save_and_load_round_trip_and_corrupt_streams_fail_clearly()
    {
        string[] corpus = ["alpha beta gamma", "beta gamma delta", "gamma delta epsilon", "zeta eta theta"];
        using HashingEmbeddingGenerator fitted = HashingEmbeddingGenerator.Fit(corpus, new HashingEmbeddingGeneratorOptions { Dimensions = 64, MinDocumentFrequency = 1 });
        using var stream = new MemoryStream();
        fitted.Save(stream);
        stream.Position = 0;
        using HashingEmbeddingGenerator loaded = HashingEmbeddingGenerator.Load(stream);
        float[] before = (await fitted.GenerateAsync(["beta gamma theta"]))[0].Vector.ToArray();
        float[] after = (await loaded.GenerateAsync(["beta gamma theta"]))[0].Vector.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(loaded.ModelId, Is.EqualTo(fitted.ModelId));
            Assert.That(after, Is.EqualTo(before));
        });

        byte[] bytes = stream.ToArray();
        Assert.That(() => HashingEmbeddingGenerator.Load(new MemoryStream(bytes[..^5])), Throws.TypeOf<InvalidDataException>().With.Message.Contains("truncated"));
        Assert.That(() => HashingEmbeddingGenerator.Load(new MemoryStream("garbage!"u8.ToArray())), Throws.TypeOf<InvalidDataException>().With.Message.Contains("magic"));
    }

    [Test]
    public async Task Concurrent_calls_give_the_same_embeddings_as_sequential_ones()
    {
        using HashingEmbeddingGenerator generator = HashingEmbeddingGenerator.Fit(Texts(50));
        string[] texts = Texts(200);
        float[][] sequential = [.. (await generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray())];
        float[][][] parallel = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
            (await generator.GenerateAsync(texts)).Select(e => e.Vector.ToArray()).ToArray())));
        foreach (float[][] run in parallel)
        {
            Assert.That(run, Is.EqualTo(sequential));
        }
    }

    [Test]
    public void Bad_options_null_texts_and_cancellation_are_reported()
    {
        using var generator = new HashingEmbeddingGenerator();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Multiple(() =>
        {
            Assert.That(() => new HashingEmbeddingGenerator(new HashingEmbeddingGeneratorOptions { Dimensions = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("Dimensions"));
            Assert.That(() => new HashingEmbeddingGenerator(new HashingEmbeddingGeneratorOptions { MaxWordNGram = 0, MaxCharNGram = 0 }),
                Throws.ArgumentException.With.Message.Contains("no feature"));
            Assert.That(() => HashingEmbeddingGenerator.Fit([]), Throws.ArgumentException.With.Message.Contains("empty"));
            Assert.That(async () => await generator.GenerateAsync(["a", null!]), Throws.ArgumentException.With.Message.Contains("index 1"));
            Assert.That(async () => await generator.GenerateAsync(["a"], new EmbeddingGenerationOptions { Dimensions = 12 }),
                Throws.ArgumentException.With.Message.Contains("12"));
            Assert.That(async () => await generator.GenerateAsync(["a"], null, cancelled.Token), Throws.InstanceOf<OperationCanceledException>());
        });
    }

    private static string[] Texts(int n) =>
        [.. Enumerable.Range(0, n).Select(i => Prompt($"question number {i} about topic {i % 7}"))];

    private static string Prompt(string content) => $"Question: {content}\nOptions:\nA. yes\nB. no\nC. maybe\nD. never\nAnswer:";
}
