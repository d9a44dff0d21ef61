using TorchSharp;
using TorchSharp.Modules;

namespace BiT.Model;

/// <summary>Creates the network's GroupNorm layers: 32 groups, eps 1e-5, affine.</summary>
internal static class GroupNorm32
{
    public static GroupNorm Create(long channels)
    {
        var norm = torch.nn.GroupNorm(BitArchitecture.Groups, channels, eps: 1e-5, affine: true);
        // TorchSharp 0.107 leaves GroupNorm's affine parameters uninitialised (whatever the allocator returned);
        // PyTorch and the reference start them at scale 1, shift 0.
        using (torch.no_grad())
        {
            norm.weight!.fill_(1);
            norm.bias!.zero_();
        }

        return norm;
    }
}
