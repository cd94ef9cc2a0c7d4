package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import com.typesafe.config.ConfigFactory;
import io.tidemark.StreamMdc;
import io.tidemark.window.WindowStats;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

/**
 * What an operator reads in the log (issue 18, defect 10): the shipped pattern's date with its
 * offset, thread and a logger that is never cut to its last word (abbreviated past 24
 * characters: io.tidemark.cluster.StreamConsumer is i.t.c.StreamConsumer) (the MongoDB driver's logger
 * showed as "uri"); the stream in the MDC of a line about it; and no standby line every interval
 * when tidemark.demo.standby-progress is off.
 */
class LogLinesTest {

  private static String encode(Path configuration, String logger, String message) throws Exception {
    LoggerContext context = new LoggerContext();
    context.setMDCAdapter(MDC.getMDCAdapter()); // the one StreamMdc writes to
    JoranConfigurator configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(configuration.toFile());
    @SuppressWarnings("unchecked")
    Encoder<ILoggingEvent> encoder = ((ConsoleAppender<ILoggingEvent>) context.getLogger("ROOT").getAppender("STDOUT")).getEncoder();
    AtomicReference<String> line = new AtomicReference<>();
    StreamMdc.with("orders-view", () -> {
      LoggingEvent event = new LoggingEvent(LogLinesTest.class.getName(), context.getLogger(logger), Level.WARN, message, null, null);
      event.setThreadName("tidemark-akka.actor.default-dispatcher-5");
      line.set(new String(encoder.encode(event), StandardCharsets.UTF_8));
    });
    context.stop();
    return line.get();
  }

  @Test
  void theTextPatternShowsTheDateTheThreadAndTheWholeLogger() throws Exception {
    String line = encode(Path.of("conf", "logback.xml"), "org.mongodb.driver.uri", "a warning");
    assertThat(line).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}(Z|[+-]\\d\\d:\\d\\d) WARN  "
        + "\\[tidemark-akka\\.actor\\.default-dispatcher-5] org\\.mongodb\\.driver\\.uri - a warning\\R");
  }

  @Test
  void aLongLoggerIsAbbreviatedNotCut() throws Exception {
    assertThat(encode(Path.of("conf", "logback.xml"), "io.tidemark.cluster.StreamConsumer", "stream 'orders-view': consumer starting"))
        .endsWith("] i.t.c.StreamConsumer - stream 'orders-view': consumer starting" + System.lineSeparator());
  }

  @Test
  void theJsonLinesCarryTheStreamOfTheLine() throws Exception {
    String line = encode(Path.of("conf", "logback-json.xml"), "io.tidemark.pipeline.PipelineRuns", "stream 'orders-view': watching");
    assertThat(line).startsWith("{").contains("\"loggerName\":\"io.tidemark.pipeline.PipelineRuns\"")
        .contains("\"stream\":\"orders-view\"").contains("\"formattedMessage\":\"stream 'orders-view': watching\"");
    assertThat(MDC.get(StreamMdc.KEY)).as("put back after the line").isNull();
  }

  @Test
  void aStandbyNodePrintsItsLineOnlyIfAskedTo() {
    DemoSettings on = DemoSettings.create(ConfigFactory.parseString("tidemark.demo.standby-progress = on").withFallback(ConfigFactory.load()));
    DemoSettings off = DemoSettings.create(ConfigFactory.parseString("tidemark.demo.standby-progress = off").withFallback(ConfigFactory.load()));
    WindowStats idle = new WindowStats();
    assertThat(DemoJob.progressLine(on, false, idle, 0, -1, 0)).isEqualTo("orders-view: standby (the stream runs on another node)");
    assertThat(DemoJob.progressLine(off, false, idle, 0, -1, 0)).isNull();
    assertThat(DemoJob.progressLine(off, true, idle, 12.5, 40, 0))
        .isEqualTo("orders-view: 0 events processed, 12.5 events/s, lag -, checkpoint age -, in flight 0, workload 40 writes");
  }
}
