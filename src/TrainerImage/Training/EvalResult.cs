namespace BiT.Trainer.Training;

public sealed record EvalResult(double Top1, double Top5, int Examples);
