namespace BiT.Trainer.Data;

/// <summary>A labelled image collection addressed by index; <see cref="Load"/> must be safe to call from several threads.</summary>
public interface IImageDataset
{
    int Count { get; }

    int NumClasses { get; }

    int LabelOf(int index);

    RawImage Load(int index);

    /// <summary>
    /// The image for a transform that needs it at least this large (0: full size). It may be smaller than the
    /// original (a JPEG decoded at reduced scale) and its pixels may live in a per-thread buffer, valid until the
    /// calling thread's next call and possibly longer than the image: index by Width and Channels.
    /// </summary>
    RawImage LoadForTransform(int index, int minWidth, int minHeight) => Load(index);

    /// <summary>Where the example came from, for warnings ("train/cat/001.jpg", "train-images-idx3-ubyte.gz[17]").</summary>
    string Describe(int index);
}
