using LlmMesh.Trainer.Extensions;
using LlmMesh.Trainer.Grpc;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();
builder.Services.AddGrpc();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapGrpcService<TrainerGrpcService>();
app.MapGrpcService<ModelsGrpcService>();
app.MapRunCommands();

app.Run();

public partial class Program;
