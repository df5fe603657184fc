using Microsoft.ML;
using Microsoft.ML.Data;

namespace Eccos.Scheduling.ML;

/// <summary>
/// The first stage of the predictor: linear models over text n-grams (and embeddings) that predict, per query, how much
/// better than their priors the models do (mean residual success) and how much longer they answer (mean residual log
/// length). Their outputs feed the second stage as two numbers; on training data they are out-of-fold.
/// </summary>
/// <remarks>Immutable; <see cref="Predict"/> is safe to call from several threads (ML.NET transformers are).</remarks>
internal sealed class TextStack
{
    public const string QualityLabelColumn = nameof(TextRow.QualityLabel);
    public const string TokensLabelColumn = nameof(TextRow.TokensLabel);
    private const string QualityColumn = "TextQuality";

    public TextStack(ITransformer model, int embeddingDimension)
    {
        Model = model;
        EmbeddingDimension = embeddingDimension;
    }

    /// <summary>Gets the chain featurizer → quality regressor → copy to <c>TextQuality</c> → length regressor.</summary>
    public ITransformer Model { get; }

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
        for (int fold = 0; fold < o.NumberOfFolds; fold++)
        {
            ct.ThrowIfCancellationRequested();
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
        IDataView scored = qAll.Transform(features);
        ITransformer copy = ml.Transforms.CopyColumns(QualityColumn, Learners.ScoreColumn).Fit(scored);
        ITransformer tAll = Learners.TextRegressor(ml, o, TokensLabelColumn).Fit(features);
        var chain = new TransformerChain<ITransformer>(featurizer, qAll, copy, tAll);
        return (new TextStack(chain, embeddingDimension), quality, tokens);
    }

    /// <summary>Predicts the two stacked values of each row, in row order.</summary>
    public void Predict(MLContext ml, IReadOnlyList<TextRow> rows, float[] quality, float[] tokens, CancellationToken ct)
    {
        IDataView scored = Model.Transform(ml.Data.LoadFromEnumerable(rows, TextRow.Schema(EmbeddingDimension)));
        DataViewSchema.Column q = scored.Schema[QualityColumn];
        DataViewSchema.Column t = scored.Schema[Learners.ScoreColumn];
        using DataViewRowCursor cursor = scored.GetRowCursor([q, t]);
        ValueGetter<float> getQ = cursor.GetGetter<float>(q);
        ValueGetter<float> getT = cursor.GetGetter<float>(t);
        int i = 0;
        float value = 0;
        while (cursor.MoveNext())
        {
            ct.ThrowIfCancellationRequested();
            getQ(ref value);
            quality[i] = value;
            getT(ref value);
            tokens[i] = value;
            i++;
        }
    }

    public DataViewSchema InputSchema(MLContext ml) =>
        ml.Data.LoadFromEnumerable(Array.Empty<TextRow>(), TextRow.Schema(EmbeddingDimension)).Schema;

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
