package com.example.tidemark;

import akka.Done;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A per-event handler ({@code stages = ["com.example.tidemark.AuditTrail"]}): appends
 * {@code <stream> <operationType> <documentKey>} for each event to the file named by the system
 * property {@code example.audit.file} (or the environment variable {@code EXAMPLE_AUDIT_FILE};
 * {@code audit.log} when neither is set). The event goes on once the line is written; a failed
 * write follows the stream's failing-stage policy.
 */
public final class AuditTrail implements EventHandler {
  private final Path file;

  public AuditTrail() {
    String configured = System.getProperty("example.audit.file", System.getenv("EXAMPLE_AUDIT_FILE"));
    this.file = Path.of(configured == null ? "audit.log" : configured);
  }

  @Override
  public CompletionStage<Done> handle(String stream, ChangeEnvelope event) {
    String key = event.documentKey() == null ? "-" : event.documentKey().toJson();
    String line = stream + " " + event.operationType() + " " + key + "\n";
    // Off the stream's thread: the pipeline hands this handler one event at a time, in order.
    return CompletableFuture.supplyAsync(() -> {
      try {
        Files.writeString(file, line, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        return Done.getInstance();
      } catch (IOException e) {
        throw new UncheckedIOException("could not append to " + file, e);
      }
    });
  }
}
