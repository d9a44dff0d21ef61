namespace BiT.Trainer.Training;

public enum TrainingOutcomeKind
{
    /// <summary>The schedule ran to the end; the final model and metrics are written.</summary>
    Completed,

    /// <summary>Stopped early (SIGTERM, --max-steps) after writing a checkpoint; running again resumes.</summary>
    Stopped,
}

public sealed record TrainingOutcome(TrainingOutcomeKind Kind, int Step, EvalResult? Eval);
