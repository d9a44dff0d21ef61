Console.Error.WriteLine("KubeEmulator: not implemented yet"); return 2;
