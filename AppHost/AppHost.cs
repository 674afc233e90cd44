using LlmMesh.AppHost;
using LlmMesh.AppHost.Messaging;

var builder = DistributedApplication.CreateBuilder(args);

var repository = Path.GetFullPath(Path.Combine(builder.AppHostDirectory, ".."));
var dataDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:DataDirectory"] ?? Path.Combine(repository, ".data"), repository);
var modelStore = Path.Combine(dataDirectory, "models");
var corpusDirectory = Path.GetFullPath(builder.Configuration["LlmMesh:CorpusDirectory"] ?? Path.Combine(repository, "data"), repository);

var messaging = builder.AddMessagingBroker("messaging", dataDirectory);

builder.AddProject<Projects.LlmMesh_Tokenizer>("tokenizer")
    .AsMeshService(messaging, modelStore)
    .WithEnvironment("Tokenizer__CorpusPath", Path.Combine(corpusDirectory, "coco", "train.txt"));

builder.Build().Run();
