using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Microsoft.ML.Transforms.Text;

namespace Eccos.Scheduling.ML;

/// <summary>One (query, model) row of the quality classifier and the length regressor.</summary>
internal sealed class PairRow
{
    public const string FeaturesColumn = "Features";
    public const string LabelColumn = "Label";
    public const string LogTokensColumn = "LogTokens";

    public bool Label { get; set; }

    public float LogTokens { get; set; }

    public float[] Features { get; set; } = [];

    public static SchemaDefinition Schema(int featureCount)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(PairRow));
        schema[nameof(Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
        return schema;
    }
}

/// <summary>One query of the text stack: its template-free text, the residual labels, its fold and optional embedding.</summary>
internal sealed class TextRow
{
    public const string TextColumn = "Text";
    public const string EmbeddingColumn = "Embedding";

    public string Text { get; set; } = string.Empty;

    public float QualityLabel { get; set; }

    public float TokensLabel { get; set; }

    public int Fold { get; set; }

    public int Row { get; set; }

    public float[] Embedding { get; set; } = [];

    public static SchemaDefinition Schema(int embeddingDimension)
    {
        SchemaDefinition schema = SchemaDefinition.Create(typeof(TextRow));
        if (embeddingDimension > 0)
        {
            schema[nameof(Embedding)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, embeddingDimension);
        }
        else
        {
            schema.Remove(schema[nameof(Embedding)]);
        }

        return schema;
    }
}

/// <summary>Builds the ML.NET estimators the options ask for.</summary>
internal static class Learners
{
    public const string ProbabilityColumn = "Probability";
    public const string ScoreColumn = "Score";

    /// <summary>A calibrated binary classifier of <see cref="PairRow.Label"/> writing <see cref="ProbabilityColumn"/>.</summary>
    public static IEstimator<ITransformer> Classifier(MLContext ml, MlPredictorOptions o, int rows) => o.Trainer switch
    {
        MlTrainer.LightGbm => ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
        {
            LabelColumnName = PairRow.LabelColumn,
            FeatureColumnName = PairRow.FeaturesColumn,
            NumberOfIterations = o.NumberOfTrees,
            NumberOfLeaves = o.NumberOfLeaves,
            LearningRate = o.LearningRate,
            MinimumExampleCountPerLeaf = LeafMinimum(o, rows),
            NumberOfThreads = o.NumberOfThreads,
            Seed = o.Seed,
            Deterministic = true,
            Silent = true,
        }),
        MlTrainer.FastTree => ml.BinaryClassification.Trainers.FastTree(Trees(new FastTreeBinaryTrainer.Options(), o, rows, PairRow.LabelColumn)),
        _ => ml.Transforms.NormalizeMeanVariance(PairRow.FeaturesColumn).Append(
            ml.BinaryClassification.Trainers.SdcaLogisticRegression(new SdcaLogisticRegressionBinaryTrainer.Options
            {
                LabelColumnName = PairRow.LabelColumn,
                FeatureColumnName = PairRow.FeaturesColumn,
                MaximumNumberOfIterations = o.SdcaMaximumIterations,
                NumberOfThreads = 1,
            })),
    };

    /// <summary>A regressor of <see cref="PairRow.LogTokens"/> writing <see cref="ScoreColumn"/>.</summary>
    public static IEstimator<ITransformer> Regressor(MLContext ml, MlPredictorOptions o, int rows) => o.Trainer switch
    {
        MlTrainer.LightGbm => ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
        {
            LabelColumnName = PairRow.LogTokensColumn,
            FeatureColumnName = PairRow.FeaturesColumn,
            NumberOfIterations = o.NumberOfTrees,
            NumberOfLeaves = o.NumberOfLeaves,
            LearningRate = o.LearningRate,
            MinimumExampleCountPerLeaf = LeafMinimum(o, rows),
            NumberOfThreads = o.NumberOfThreads,
            Seed = o.Seed,
            Deterministic = true,
            Silent = true,
        }),
        MlTrainer.FastTree => ml.Regression.Trainers.FastTree(Trees(new FastTreeRegressionTrainer.Options(), o, rows, PairRow.LogTokensColumn)),
        _ => ml.Transforms.NormalizeMeanVariance(PairRow.FeaturesColumn).Append(
            ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                LabelColumnName = PairRow.LogTokensColumn,
                FeatureColumnName = PairRow.FeaturesColumn,
                MaximumNumberOfIterations = o.SdcaMaximumIterations,
                NumberOfThreads = 1,
            })),
    };

    /// <summary>Text n-grams of <see cref="TextRow.Text"/> (and the embedding, if any) concatenated into <c>Features</c>.</summary>
    public static IEstimator<ITransformer> TextFeaturizer(MLContext ml, MlPredictorOptions o, bool text, bool embedding)
    {
        var sources = new List<string>(2);
        IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
        if (text)
        {
            chain = chain.Append(ml.Transforms.Text.FeaturizeText("TextFeatures", new TextFeaturizingEstimator.Options
            {
                CaseMode = TextNormalizingEstimator.CaseMode.Lower,
                KeepDiacritics = false,
                KeepPunctuations = false,
                KeepNumbers = true,
                WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = o.WordNgramLength, UseAllLengths = true },
                CharFeatureExtractor = o.CharNgramLength > 0
                    ? new WordBagEstimator.Options { NgramLength = o.CharNgramLength, UseAllLengths = false }
                    : null,
                Norm = TextFeaturizingEstimator.NormFunction.L2,
            }, TextRow.TextColumn));
            sources.Add("TextFeatures");
        }

        if (embedding)
        {
            sources.Add(TextRow.EmbeddingColumn);
        }

        return chain.Append(ml.Transforms.Concatenate(PairRow.FeaturesColumn, [.. sources]));
    }

    /// <summary>A linear regressor for one of the text stack's residual labels.</summary>
    public static IEstimator<ITransformer> TextRegressor(MLContext ml, MlPredictorOptions o, string label) =>
        ml.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
        {
            LabelColumnName = label,
            FeatureColumnName = PairRow.FeaturesColumn,
            MaximumNumberOfIterations = o.SdcaMaximumIterations,
            NumberOfThreads = 1,
        });

    // FastTree's binary and regression options share their base class; LightGBM's are nested in distinct generic
    // instantiations, so each of its two initializers lists the same settings.
    private static T Trees<T>(T options, MlPredictorOptions o, int rows, string label)
        where T : BoostedTreeOptions
    {
        options.LabelColumnName = label;
        options.FeatureColumnName = PairRow.FeaturesColumn;
        options.NumberOfTrees = o.NumberOfTrees;
        options.NumberOfLeaves = o.NumberOfLeaves;
        options.LearningRate = o.LearningRate;
        options.MinimumExampleCountPerLeaf = LeafMinimum(o, rows);
        options.NumberOfThreads = o.NumberOfThreads;
        options.Seed = o.Seed;
        return options;
    }

    // Small training sets (tests, a new model's first outcomes) cannot fill leaves of the default size.
    private static int LeafMinimum(MlPredictorOptions o, int rows) => Math.Max(1, Math.Min(o.MinimumExampleCountPerLeaf, rows / 10));
}
