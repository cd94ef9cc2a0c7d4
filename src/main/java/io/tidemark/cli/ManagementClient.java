package io.tidemark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Pattern;

/** Reads a running node's management endpoints, for {@code status} and {@code report}. */
final class ManagementClient {
  private static final Pattern HOST_PORT = Pattern.compile("[^:\\s/]+:\\d{1,5}");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  ManagementClient(String hostPort) {
    if (!HOST_PORT.matcher(hostPort).matches()) {
      throw new TidemarkException("invalid --management '" + hostPort + "': expected HOST:PORT, such as 127.0.0.1:8558");
    }
    this.base = "http://" + hostPort;
  }

  JsonNode get(String path) {
    HttpResponse<String> response;
    try {
      response = http.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(10)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      String why = e instanceof java.net.ConnectException ? "connection refused" : Errors.summary(e);
      throw new TidemarkException("no Tidemark node answers at " + base + " (" + why
          + "): is it running, and is that its management port? (--management HOST:PORT; a node's default is 127.0.0.1:8558)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TidemarkException("interrupted while asking " + base);
    }
    if (response.statusCode() != 200) {
      throw new TidemarkException(base + path + " answered HTTP " + response.statusCode()
          + ": is that a Tidemark node's management port?");
    }
    try {
      JsonNode body = JSON.readTree(response.body());
      if (body.hasNonNull("error")) throw new TidemarkException(base + path + " answered an error: " + body.get("error").asText());
      return body;
    } catch (IOException e) {
      throw new TidemarkException(base + path + " did not answer JSON: is that a Tidemark node's management port?");
    }
  }

  String base() {
    return base;
  }
}
