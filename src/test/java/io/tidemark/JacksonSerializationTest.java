package io.tidemark;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.SerializerWithStringManifest;
import akka.serialization.jackson.JacksonSerializer;
import com.fasterxml.jackson.databind.cfg.PackageVersion;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * Akka 2.6.21's Jackson serializer on the Jackson and lz4-java the build pins (newer than Akka's
 * own; see docs/security.md#dependencies): a message with a Scala-free Java shape, an Optional and a
 * list goes through CBOR and back, compressed with LZ4 when configured so.
 */
class JacksonSerializationTest {
  public record Message(String text, Optional<Long> number, List<String> items) implements JsonSerializable {}

  @Test
  void aMessageRoundTripsThroughCborWithLz4() {
    ActorTestKit kit = ActorTestKit.create("jackson", ConfigFactory.parseString(String.join("\n",
        "akka.serialization.jackson.jackson-cbor.compression.algorithm = lz4",
        "akka.serialization.jackson.jackson-cbor.compression.compress-larger-than = 0 KiB")).withFallback(ConfigFactory.load()));
    try {
      assertThat(PackageVersion.VERSION.getMinorVersion()).as("the pinned Jackson, not Akka's 2.11").isGreaterThanOrEqualTo(15);
      Serialization serialization = SerializationExtension.get(kit.system().classicSystem());
      Message message = new Message("x".repeat(10_000), Optional.of(42L), List.of("a", "b"));
      Serializer serializer = serialization.findSerializerFor(message);
      assertThat(serializer).isInstanceOf(JacksonSerializer.class);
      byte[] bytes = serializer.toBinary(message);
      assertThat(JacksonSerializer.isLZ4(bytes)).as("compressed with LZ4").isTrue();
      assertThat(bytes.length).isLessThan(1_000);
      String manifest = ((SerializerWithStringManifest) serializer).manifest(message);
      assertThat(serialization.deserialize(bytes, serializer.identifier(), manifest).get()).isEqualTo(message);
    } finally {
      kit.shutdownTestKit();
    }
  }
}
