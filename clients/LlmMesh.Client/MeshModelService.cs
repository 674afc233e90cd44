namespace LlmMesh.Client;

/// <summary>The mesh services that serve a model bundle.</summary>
public enum MeshModelService
{
    Encoder,
    Generator,
    Discriminator,
}
