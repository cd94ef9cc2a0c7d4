package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tidemark.TidemarkException;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sink types from plugins: found with ServiceLoader, unable to replace a built-in type or to claim one type twice. */
class SinkPluginsTest {
  /** A plugin's sink type. */
  public static final class NullSinkFactory implements SinkFactory {
    @Override
    public String type() {
      return "null";
    }

    @Override
    public ConfiguredSink create(SinkContext context) {
      return new ConfiguredSink() {
        @Override
        public String guarantee() {
          return "at-most-once";
        }

        @Override
        public PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
          return stages;
        }
      };
    }
  }

  /** Another plugin claiming the same type. */
  public static final class OtherNullSinkFactory implements SinkFactory {
    @Override
    public String type() {
      return "null";
    }

    @Override
    public ConfiguredSink create(SinkContext context) {
      throw new UnsupportedOperationException();
    }
  }

  /** A plugin claiming a built-in type: the built-in stays. */
  public static final class FakeFileSinkFactory implements SinkFactory {
    @Override
    public String type() {
      return "file";
    }

    @Override
    public ConfiguredSink create(SinkContext context) {
      throw new UnsupportedOperationException();
    }
  }

  private static ClassLoader plugins(Path dir, Class<?>... factories) throws Exception {
    Path services = dir.resolve("META-INF/services");
    Files.createDirectories(services);
    StringBuilder lines = new StringBuilder();
    for (Class<?> factory : factories) lines.append(factory.getName()).append('\n');
    Files.writeString(services.resolve(SinkFactory.class.getName()), lines.toString());
    return new URLClassLoader(new URL[] {dir.toUri().toURL()}, SinkPluginsTest.class.getClassLoader());
  }

  @Test
  void aPluginsTypeIsKnownBesideTheBuiltInOnes(@TempDir Path dir) throws Exception {
    Sinks sinks = Sinks.load(plugins(dir, NullSinkFactory.class, FakeFileSinkFactory.class));
    assertThat(sinks.types()).containsExactly("demo-view", "file", "http", "jdbc", "kafka", "mongodb", "null", "stdout");
    assertThat(sinks.forType("null")).isInstanceOf(NullSinkFactory.class);
    assertThat(sinks.forType("file")).as("a built-in type is not replaced").isInstanceOf(FileSinkFactory.class);
  }

  @Test
  void twoPluginsCannotClaimOneType(@TempDir Path dir) throws Exception {
    ClassLoader loader = plugins(dir, NullSinkFactory.class, OtherNullSinkFactory.class);
    assertThatThrownBy(() -> Sinks.load(loader))
        .isInstanceOf(TidemarkException.class)
        .hasMessage("sink type 'null' is claimed by two plugins: " + NullSinkFactory.class.getName() + " and "
            + OtherNullSinkFactory.class.getName());
  }
}
