namespace BiT.Trainer.Data;

public static class DataSplitExtensions
{
    public static string DirectoryName(this DataSplit split) => split == DataSplit.Train ? "train" : "test";
}
