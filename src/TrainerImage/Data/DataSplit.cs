namespace BiT.Trainer.Data;

public enum DataSplit
{
    Train,
    Test,
}
