using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Eccos.Scheduling.ML;

/// <summary>
/// The first stage of the predictor: linear models over text n-grams (and embeddings) that predict, per query, how much
/// better than their priors the models do (mean residual success) and how much longer they answer (mean residual log
/// length). Their outputs feed the second stage as two numbers; on training data they are out-of-fold.
/// </summary>
/// <remarks>Immutable; <see cref="Predict"/> is safe to call from several threads (ML.NET transformers are, and the weights are only read).</remarks>
internal sealed class TextStack
{
    public const string QualityLabelColumn = nameof(TextRow.QualityLabel);
    public const string TokensLabelColumn = nameof(TextRow.TokensLabel);

    private readonly float[] _qualityWeights;
    private readonly float _qualityBias;
    private readonly float[] _tokensWeights;
    private readonly float _tokensBias;

    /// <summary>Initializes a stack from its three ML.NET parts.</summary>
    /// <exception cref="InvalidDataException">A regressor is not a linear regression model.</exception>
    public TextStack(ITransformer featurizer, ITransformer quality, ITransformer tokens, int embeddingDimension)
    {
        Featurizer = featurizer;
        Quality = quality;
        Tokens = tokens;
        EmbeddingDimension = embeddingDimension;
        (_qualityWeights, _qualityBias) = Linear(quality);
        (_tokensWeights, _tokensBias) = Linear(tokens);
    }

    /// <summary>Gets the featurizer: text n-grams (and embedding) concatenated into <c>Features</c>.</summary>
    public ITransformer Featurizer { get; }

    /// <summary>Gets the linear regressor of the mean residual success.</summary>
    public ITransformer Quality { get; }

    /// <summary>Gets the linear regressor of the mean residual log length.</summary>
    public ITransformer Tokens { get; }

    public int EmbeddingDimension { get; }

    /// <summary>
    /// Trains the stack on <paramref name="rows"/> and returns it with the out-of-fold predictions of every row
    /// (index = <see cref="TextRow.Row"/>).
    /// </summary>
    public static (TextStack Stack, float[] Quality, float[] Tokens) Train(
        MLContext ml, MlPredictorOptions o, IReadOnlyList<TextRow> rows, bool text, int embeddingDimension, CancellationToken ct)
    {
        IDataView data = ml.Data.LoadFromEnumerable(rows, TextRow.Schema(embeddingDimension));

        // The vocabulary is fitted once on all training text: it sees no label, so it cannot leak one.
        ITransformer featurizer = Learners.TextFeaturizer(ml, o, text, embeddingDimension > 0).Fit(data);
        IDataView features = ml.Data.Cache(featurizer.Transform(data));
        var quality = new float[rows.Count];
        var tokens = new float[rows.Count];
        var foldSizes = new int[o.NumberOfFolds];
        foreach (TextRow row in rows)
        {
            foldSizes[row.Fold]++;
        }

        for (int fold = 0; fold < o.NumberOfFolds; fold++)
        {
            ct.ThrowIfCancellationRequested();
            if (foldSizes[fold] == 0 || foldSizes[fold] == rows.Count)
            {
                continue; // nothing to predict, or nothing else to learn from: the row keeps 0, "no evidence"
            }

            int f = fold;
            IDataView train = ml.Data.FilterByCustomPredicate<FoldView>(features, r => r.Fold == f);
            IDataView held = ml.Data.FilterByCustomPredicate<FoldView>(features, r => r.Fold != f);
            ITransformer q = Learners.TextRegressor(ml, o, QualityLabelColumn).Fit(train);
            MlData.ReadByRow(q.Transform(held), Learners.ScoreColumn, quality);
            ITransformer t = Learners.TextRegressor(ml, o, TokensLabelColumn).Fit(train);
            MlData.ReadByRow(t.Transform(held), Learners.ScoreColumn, tokens);
        }

        ct.ThrowIfCancellationRequested();
        ITransformer qAll = Learners.TextRegressor(ml, o, QualityLabelColumn).Fit(features);
        ITransformer tAll = Learners.TextRegressor(ml, o, TokensLabelColumn).Fit(features);
        return (new TextStack(featurizer, qAll, tAll, embeddingDimension), quality, tokens);
    }

    /// <summary>
    /// Predicts the two stacked values of each row, in row order: the rows are featurized once by ML.NET and both
    /// linear models are applied to the same sparse vector.
    /// </summary>
    public void Predict(MLContext ml, IReadOnlyList<TextRow> rows, float[] quality, float[] tokens, CancellationToken ct)
    {
        IDataView featurized = Featurizer.Transform(ml.Data.LoadFromEnumerable(rows, TextRow.Schema(EmbeddingDimension)));
        DataViewSchema.Column column = featurized.Schema[PairRow.FeaturesColumn];
        using DataViewRowCursor cursor = featurized.GetRowCursor([column]);
        ValueGetter<VBuffer<float>> getFeatures = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> features = default;
        int i = 0;
        while (cursor.MoveNext())
        {
            ct.ThrowIfCancellationRequested();
            getFeatures(ref features);
            quality[i] = _qualityBias + Dot(_qualityWeights, features);
            tokens[i] = _tokensBias + Dot(_tokensWeights, features);
            i++;
        }
    }

    public DataViewSchema InputSchema(MLContext ml) =>
        ml.Data.LoadFromEnumerable(Array.Empty<TextRow>(), TextRow.Schema(EmbeddingDimension)).Schema;

    private static float Dot(float[] weights, in VBuffer<float> x)
    {
        ReadOnlySpan<float> values = x.GetValues();
        if (x.IsDense)
        {
            return System.Numerics.Tensors.TensorPrimitives.Dot(weights.AsSpan(0, Math.Min(weights.Length, values.Length)), values[..Math.Min(weights.Length, values.Length)]);
        }

        ReadOnlySpan<int> indices = x.GetIndices();
        float sum = 0;
        for (int k = 0; k < values.Length; k++)
        {
            int index = indices[k];
            if (index < weights.Length)
            {
                sum += weights[index] * values[k];
            }
        }

        return sum;
    }

    private static (float[] Weights, float Bias) Linear(ITransformer regressor)
    {
        if (regressor is not ISingleFeaturePredictionTransformer<LinearRegressionModelParameters> linear)
        {
            throw new InvalidDataException($"A text model is a {regressor.GetType().Name}, not a linear regression model.");
        }

        return ([.. linear.Model.Weights], linear.Model.Bias);
    }

    /// <summary>The column the fold filters read.</summary>
    private sealed class FoldView
    {
        public int Fold { get; set; }
    }
}

/// <summary>Small helpers to read ML.NET outputs into arrays without per-row objects.</summary>
internal static class MlData
{
    /// <summary>Reads float <paramref name="column"/> into <paramref name="into"/>[Row] for each row of <paramref name="view"/>.</summary>
    public static void ReadByRow(IDataView view, string column, float[] into)
    {
        DataViewSchema.Column value = view.Schema[column];
        DataViewSchema.Column row = view.Schema[nameof(TextRow.Row)];
        using DataViewRowCursor cursor = view.GetRowCursor([value, row]);
        ValueGetter<float> getValue = cursor.GetGetter<float>(value);
        ValueGetter<int> getRow = cursor.GetGetter<int>(row);
        float v = 0;
        int r = 0;
        while (cursor.MoveNext())
        {
            getValue(ref v);
            getRow(ref r);
            into[r] = v;
        }
    }

    /// <summary>Reads float <paramref name="column"/> into <paramref name="into"/> in row order.</summary>
    public static void Read(IDataView view, string column, Span<float> into, CancellationToken ct)
    {
        DataViewSchema.Column value = view.Schema[column];
        using DataViewRowCursor cursor = view.GetRowCursor([value]);
        ValueGetter<float> getValue = cursor.GetGetter<float>(value);
        float v = 0;
        int i = 0;
        while (cursor.MoveNext())
        {
            if ((i & 1023) == 0)
            {
                ct.ThrowIfCancellationRequested();
            }

            getValue(ref v);
            into[i++] = v;
        }
    }
}
