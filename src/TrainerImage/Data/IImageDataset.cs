namespace BiT.Trainer.Data;

/// <summary>A labelled image collection addressed by index; <see cref="Load"/> must be safe to call from several threads.</summary>
public interface IImageDataset
{
    int Count { get; }

    int NumClasses { get; }

    int LabelOf(int index);

    RawImage Load(int index);

    /// <summary>Where the example came from, for warnings ("train/cat/001.jpg", "train-images-idx3-ubyte.gz[17]").</summary>
    string Describe(int index);
}
