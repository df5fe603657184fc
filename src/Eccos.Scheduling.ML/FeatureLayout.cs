namespace Eccos.Scheduling.ML;

/// <summary>
/// Where each feature group sits in the dense feature vector of one (query, model) row:
/// [priors (6)] [log input tokens + shape (6)] [stacked text/embedding scores (2)] [task one-hot (T)] [model one-hot (M)].
/// Absent groups take no room.
/// </summary>
internal sealed class FeatureLayout
{
    public const int ShapeValueCount = 1 + QueryShape.ValueCount;
    public const int StackValueCount = 2;

    public FeatureLayout(MlFeatures features, bool stacked, int taskCount, int modelOneHotCount)
    {
        int offset = 0;
        PriorOffset = Take((features & MlFeatures.TaskPrior) != 0, PriorTable.ValueCount);
        ShapeOffset = Take((features & MlFeatures.Lengths) != 0, ShapeValueCount);
        StackOffset = Take(stacked, StackValueCount);
        TaskOffset = Take((features & MlFeatures.Task) != 0 && taskCount > 0, taskCount);
        ModelOffset = Take(modelOneHotCount > 0, modelOneHotCount);

        // A learner needs at least one column; a constant one carries no information and changes nothing.
        Length = Math.Max(offset, 1);

        int Take(bool present, int count)
        {
            if (!present)
            {
                return -1;
            }

            int start = offset;
            offset += count;
            return start;
        }
    }

    public int PriorOffset { get; }

    public int ShapeOffset { get; }

    public int StackOffset { get; }

    public int TaskOffset { get; }

    public int ModelOffset { get; }

    public int Length { get; }

    /// <summary>Fills one row. <paramref name="model"/> is the model's index among the trained models.</summary>
    public void Write(
        Span<float> row,
        PriorTable priors,
        int model,
        int task,
        int excludeFold,
        float logInputTokens,
        in QueryShape shape,
        float stackedQuality,
        float stackedLogTokens)
    {
        row.Clear();
        if (PriorOffset >= 0)
        {
            priors.Write(model, task, excludeFold, row.Slice(PriorOffset, PriorTable.ValueCount));
        }

        if (ShapeOffset >= 0)
        {
            row[ShapeOffset] = logInputTokens;
            shape.CopyTo(row.Slice(ShapeOffset + 1, QueryShape.ValueCount));
        }

        if (StackOffset >= 0)
        {
            row[StackOffset] = stackedQuality;
            row[StackOffset + 1] = stackedLogTokens;
        }

        if (TaskOffset >= 0 && task >= 0)
        {
            row[TaskOffset + task] = 1;
        }

        if (ModelOffset >= 0)
        {
            row[ModelOffset + model] = 1;
        }
    }
}
