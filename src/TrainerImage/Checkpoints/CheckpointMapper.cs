using BiT.Trainer.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BiT.Trainer.Checkpoints;

/// <summary>Moves the model's parameters and buffers and the optimizer's momentum to and from a checkpoint, byte for byte.</summary>
public static class CheckpointMapper
{
    private const string ModelPrefix = "model/";
    private const string BufferPrefix = "buffer/";
    private const string MomentumPrefix = "momentum/";

    public static CheckpointState Capture(int step, TrainingSettings settings, nn.Module<Tensor, Tensor> model, SgdMomentum optimizer, DateTimeOffset now)
    {
        var tensors = new List<TensorData>();
        tensors.AddRange(model.named_parameters().Select(p => ToData(ModelPrefix + p.name, p.parameter)));
        tensors.AddRange(model.named_buffers().Select(b => ToData(BufferPrefix + b.name, b.buffer)));
        tensors.AddRange(optimizer.State.Select(s => ToData(MomentumPrefix + s.Name, s.Buffer)));
        return new CheckpointState(step, settings.PlanHash, settings.Seed, (long)step * settings.BatchSize, tensors, now);
    }

    public static void Restore(CheckpointState state, nn.Module<Tensor, Tensor> model, SgdMomentum optimizer)
    {
        var byName = state.Tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
        using var noGrad = torch.no_grad();
        foreach (var (name, p) in model.named_parameters())
        {
            Load(byName, ModelPrefix + name, p);
        }
        foreach (var (name, b) in model.named_buffers())
        {
            Load(byName, BufferPrefix + name, b);
        }
        foreach (var (name, m) in optimizer.State)
        {
            Load(byName, MomentumPrefix + name, m);
        }
    }

    private static TensorData ToData(string name, Tensor tensor)
    {
        using var cpu = tensor.detach().cpu().contiguous();
        return new TensorData(name, cpu.dtype.ToString(), cpu.shape, cpu.bytes.ToArray());
    }

    private static void Load(Dictionary<string, TensorData> byName, string name, Tensor target)
    {
        if (!byName.TryGetValue(name, out var data))
        {
            throw new CorruptCheckpointException($"the checkpoint has no tensor {name}: it was written for another network");
        }
        if (!data.Shape.SequenceEqual(target.shape) || data.DType != target.dtype.ToString())
        {
            throw new CorruptCheckpointException(
                $"tensor {name} is {data.DType}[{string.Join(", ", data.Shape)}] in the checkpoint but {target.dtype}[{string.Join(", ", target.shape)}] in the network");
        }
        if (target.is_contiguous() && target.device_type == DeviceType.CPU)
        {
            // Straight into the tensor's memory: no temporary tensor, no second copy.
            target.bytes = data.Data;
            return;
        }
        using var source = torch.empty(data.Shape, target.dtype);
        source.bytes = data.Data;
        target.copy_(source);
    }
}
