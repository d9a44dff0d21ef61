namespace BiT.Trainer.Data;

public enum DataFormat
{
    ImageFolder,
    Idx,
    CifarBinary,
}
