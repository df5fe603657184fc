using System.Globalization;

namespace Eccos.Scheduling.ML;

/// <summary>The ML.NET learner behind an <see cref="MlPredictor"/>.</summary>
public enum MlTrainer
{
    /// <summary>Gradient-boosted trees by LightGBM (native library shipped in the LightGBM package). The default.</summary>
    LightGbm,

    /// <summary>Gradient-boosted trees by ML.NET's managed FastTree.</summary>
    FastTree,

    /// <summary>Linear models trained by stochastic dual coordinate ascent (logistic regression for quality, least squares for length).</summary>
    Sdca,
}

/// <summary>How the per-model predictions are organised.</summary>
public enum MlModelLayout
{
    /// <summary>
    /// One classifier and one regressor over every (query, model) pair, with the model as a one-hot feature, so that what
    /// makes a query hard is learned from all models' outcomes at once. The default (the comparison is in
    /// docs/ml-predictor.md).
    /// </summary>
    Shared,

    /// <summary>One classifier and one regressor per model, each trained on that model's outcomes only.</summary>
    PerModel,
}

/// <summary>Groups of features the predictor may use; combine with <c>|</c>.</summary>
[Flags]
public enum MlFeatures
{
    /// <summary>No optional feature: only the model identity (shared layout) remains.</summary>
    None = 0,

    /// <summary>
    /// Target-encoded priors: each model's success rate and mean log output length on the query's task and overall, and
    /// the pool's on the task — smoothed, and out-of-fold on the training data so that no row sees its own label.
    /// </summary>
    TaskPrior = 1,

    /// <summary>The query's task as a one-hot vector over the tasks seen in training.</summary>
    Task = 2,

    /// <summary>
    /// Shape of the query: log input tokens, number of answer options, log length of the question and of the options,
    /// share of digits, share of numeric options, count of numbers and share of formula characters in the question,
    /// a negation cue ("NOT", "EXCEPT", …) and the spread of option lengths.
    /// </summary>
    Lengths = 4,

    /// <summary>
    /// Text n-grams (ML.NET FeaturizeText over the question with the prompt template removed) stacked through linear
    /// models that predict the query's mean success and mean log length over all models (out-of-fold on training data).
    /// </summary>
    Text = 8,

    /// <summary>Every feature group above: the default.</summary>
    All = TaskPrior | Task | Lengths | Text,
}

/// <summary>Options of <see cref="MlPredictorTrainer"/>; every property has a documented default.</summary>
/// <remarks>
/// A plain options object: not thread-safe while being changed. The trainer copies it when it is constructed, so later
/// changes do not affect a trainer or a predictor already made.
/// </remarks>
public sealed class MlPredictorOptions
{
    /// <summary>Gets or sets the learner. Default <see cref="MlTrainer.LightGbm"/>.</summary>
    public MlTrainer Trainer { get; set; } = MlTrainer.LightGbm;

    /// <summary>Gets or sets one model for all LLMs or one per LLM. Default <see cref="MlModelLayout.Shared"/>.</summary>
    public MlModelLayout Layout { get; set; } = MlModelLayout.Shared;

    /// <summary>Gets or sets the feature groups. Default <see cref="MlFeatures.All"/>.</summary>
    /// <remarks>Embeddings are used in addition whenever the trainer is given an embedding generator.</remarks>
    public MlFeatures Features { get; set; } = MlFeatures.All;

    /// <summary>
    /// Gets or sets the number of boosting iterations (trees) of LightGBM and FastTree. Default 100 (with
    /// <see cref="LearningRate"/> 0.1; docs/ml-predictor.md compares it with more trees at lower rates).
    /// </summary>
    public int NumberOfTrees { get; set; } = 100;

    /// <summary>Gets or sets the maximum number of leaves per tree (LightGBM, FastTree). Default 31.</summary>
    public int NumberOfLeaves { get; set; } = 31;

    /// <summary>Gets or sets the boosting learning rate (LightGBM, FastTree), in (0, 1]. Default 0.1.</summary>
    public double LearningRate { get; set; } = 0.1;

    /// <summary>Gets or sets the minimum number of training rows in a leaf (LightGBM, FastTree). Default 50.</summary>
    public int MinimumExampleCountPerLeaf { get; set; } = 50;

    /// <summary>Gets or sets the number of SDCA passes over the data (<see cref="MlTrainer.Sdca"/>, and the text models). Default 30.</summary>
    public int SdcaMaximumIterations { get; set; } = 30;

    /// <summary>
    /// Gets or sets the number of folds of the out-of-fold target encoding and text stacking on the training data;
    /// at least 2. Default 5.
    /// </summary>
    public int NumberOfFolds { get; set; } = 5;

    /// <summary>
    /// Gets or sets the smoothing of the task priors, in pseudo-observations: a model's rate on a task is
    /// <c>(successes + s·rate_model) / (trials + s)</c>. Non-negative. Default 20.
    /// </summary>
    public double PriorPseudoCount { get; set; } = 20;

    /// <summary>Gets or sets the longest word n-gram of the text features (1 to 3). Default 2.</summary>
    public int WordNgramLength { get; set; } = 2;

    /// <summary>Gets or sets the character n-gram length of the text features (0 turns character n-grams off, at most 5). Default 3.</summary>
    public int CharNgramLength { get; set; } = 3;

    /// <summary>Gets or sets the seed of the ML.NET context, of the folds and of the learners. Default 0.</summary>
    public int Seed { get; set; }

    /// <summary>
    /// Gets or sets the number of threads of LightGBM and FastTree; at least 1. Default 1: on a machine shared with other
    /// work, LightGBM's OpenMP threads spin while waiting, which makes a multi-threaded fit slower, not faster
    /// (docs/ml-predictor.md); one thread also makes results repeat exactly. SDCA always runs on one.
    /// </summary>
    public int NumberOfThreads { get; set; } = 1;

    /// <summary>Returns a copy of these options.</summary>
    /// <returns>A new options object with the same values.</returns>
    public MlPredictorOptions Clone() => (MlPredictorOptions)MemberwiseClone();

    /// <summary>Checks every value.</summary>
    /// <param name="paramName">The argument name to report.</param>
    /// <exception cref="ArgumentException">A value is out of range; the message names the property.</exception>
    internal void Validate(string paramName)
    {
        Check(Enum.IsDefined(Trainer), nameof(Trainer), Trainer, "is not a known trainer");
        Check(Enum.IsDefined(Layout), nameof(Layout), Layout, "is not a known layout");
        Check((Features & ~MlFeatures.All) == 0, nameof(Features), Features, "has unknown flags");
        Check(NumberOfTrees >= 1, nameof(NumberOfTrees), NumberOfTrees, "must be at least 1");
        Check(NumberOfLeaves >= 2, nameof(NumberOfLeaves), NumberOfLeaves, "must be at least 2");
        Check(LearningRate > 0 && LearningRate <= 1, nameof(LearningRate), LearningRate, "must lie in (0, 1]");
        Check(MinimumExampleCountPerLeaf >= 1, nameof(MinimumExampleCountPerLeaf), MinimumExampleCountPerLeaf, "must be at least 1");
        Check(SdcaMaximumIterations >= 1, nameof(SdcaMaximumIterations), SdcaMaximumIterations, "must be at least 1");
        Check(NumberOfFolds >= 2, nameof(NumberOfFolds), NumberOfFolds, "must be at least 2");
        Check(double.IsFinite(PriorPseudoCount) && PriorPseudoCount >= 0, nameof(PriorPseudoCount), PriorPseudoCount, "must be a finite, non-negative number");
        Check(WordNgramLength is >= 1 and <= 3, nameof(WordNgramLength), WordNgramLength, "must lie in 1..3");
        Check(CharNgramLength is >= 0 and <= 5, nameof(CharNgramLength), CharNgramLength, "must lie in 0..5");
        Check(NumberOfThreads >= 1, nameof(NumberOfThreads), NumberOfThreads, "must be at least 1");

        void Check(bool ok, string property, object? value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"{nameof(MlPredictorOptions)}.{property} = {value} {rule}."), paramName);
            }
        }
    }
}
