namespace Eccos.Scheduling;

/// <summary>Options of a <see cref="HashingEmbeddingGenerator"/>.</summary>
/// <remarks>
/// Every option takes part in the generator's model id, so embeddings made with different options never mix in a
/// cache. A plain mutable object, not thread-safe; the generator validates and copies it when built.
/// </remarks>
public sealed class HashingEmbeddingGeneratorOptions
{
    /// <summary>Gets or sets the number of dimensions (hash buckets). Default: 384, as all-MiniLM-L6-v2.</summary>
    public int Dimensions { get; set; } = 384;

    /// <summary>
    /// Gets or sets the longest word n-gram: 0 for no word features, 1 (the default) for words, 2 for words and word
    /// pairs.
    /// </summary>
    public int MaxWordNGram { get; set; } = 1;

    /// <summary>
    /// Gets or sets the shortest character n-gram taken inside each word (with word-boundary marks, as fastText does).
    /// Default: 3. Set <see cref="MaxCharNGram"/> to 0 to use no character n-grams.
    /// </summary>
    public int MinCharNGram { get; set; } = 3;

    /// <summary>Gets or sets the longest character n-gram; 0 for none. Default: 5.</summary>
    public int MaxCharNGram { get; set; } = 5;

    /// <summary>
    /// Gets or sets the weight of the character n-gram part against the word part. Each part is L2-normalized on its
    /// own before they are added, so that the many character n-grams of a text do not drown its words. Default: 1.
    /// </summary>
    public float CharNGramWeight { get; set; } = 1f;

    /// <summary>
    /// Gets or sets the share of corpus texts above which a feature is dropped by
    /// <see cref="HashingEmbeddingGenerator.Fit"/>: a learned stop list that removes a shared prompt template
    /// ("Question:", "Options:", "Answer:", the option letters). Default: 0.3.
    /// </summary>
    public double MaxDocumentFrequency { get; set; } = 0.3;

    /// <summary>
    /// Gets or sets a value indicating whether <see cref="HashingEmbeddingGenerator.Fit"/> also learns inverse
    /// document frequency weights (besides the stop list). Default: <see langword="false"/>: rare n-grams mark a
    /// question's topic, while what predicts success is its kind (calculation or recall, numeric options, length);
    /// docs/knn.md has the comparison.
    /// </summary>
    public bool UseIdf { get; set; }

    /// <summary>
    /// Gets or sets the smallest document frequency for which <see cref="HashingEmbeddingGenerator.Fit"/> keeps an IDF
    /// weight when <see cref="UseIdf"/> is set; rarer features share the weight of a feature seen once. Bounds the
    /// memory of a fit. Default: 2.
    /// </summary>
    public int MinDocumentFrequency { get; set; } = 2;

    internal HashingEmbeddingGeneratorOptions Validated()
    {
        const string Name = "options";
        if (Dimensions < 1)
        {
            throw new ArgumentOutOfRangeException(Name, Dimensions, "HashingEmbeddingGeneratorOptions.Dimensions must be at least 1.");
        }

        if (MaxWordNGram is < 0 or > 4)
        {
            throw new ArgumentOutOfRangeException(Name, MaxWordNGram, "HashingEmbeddingGeneratorOptions.MaxWordNGram must lie in [0, 4].");
        }

        if (MaxCharNGram != 0 && (MinCharNGram < 1 || MaxCharNGram < MinCharNGram || MaxCharNGram > 16))
        {
            throw new ArgumentOutOfRangeException(Name, MaxCharNGram, "HashingEmbeddingGeneratorOptions: character n-grams need 1 ≤ MinCharNGram ≤ MaxCharNGram ≤ 16 (or MaxCharNGram = 0 for none).");
        }

        if (MaxWordNGram == 0 && MaxCharNGram == 0)
        {
            throw new ArgumentException("HashingEmbeddingGeneratorOptions: MaxWordNGram and MaxCharNGram are both 0, so no feature would be hashed.", Name);
        }

        if (!float.IsFinite(CharNGramWeight) || CharNGramWeight < 0)
        {
            throw new ArgumentOutOfRangeException(Name, CharNGramWeight, "HashingEmbeddingGeneratorOptions.CharNGramWeight must be a finite, non-negative number.");
        }

        if (!(MaxDocumentFrequency > 0 && MaxDocumentFrequency <= 1))
        {
            throw new ArgumentOutOfRangeException(Name, MaxDocumentFrequency, "HashingEmbeddingGeneratorOptions.MaxDocumentFrequency must lie in (0, 1].");
        }

        if (MinDocumentFrequency < 1)
        {
            throw new ArgumentOutOfRangeException(Name, MinDocumentFrequency, "HashingEmbeddingGeneratorOptions.MinDocumentFrequency must be at least 1.");
        }

        return new HashingEmbeddingGeneratorOptions
        {
            Dimensions = Dimensions,
            MaxWordNGram = MaxWordNGram,
            MinCharNGram = MaxCharNGram == 0 ? 0 : MinCharNGram,
            MaxCharNGram = MaxCharNGram,
            CharNGramWeight = CharNGramWeight,
            MaxDocumentFrequency = MaxDocumentFrequency,
            UseIdf = UseIdf,
            MinDocumentFrequency = MinDocumentFrequency,
        };
    }
}
