package io.tidemark.source;

import io.tidemark.connection.CommandFailures;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoCursorNotFoundException;
import com.mongodb.MongoSocketReadException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.ServerAddress;
import io.tidemark.TidemarkException;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Error classification after the driver spec's "Resumable Error". */
class ResumableErrorsTest {
  private static final ServerAddress SERVER = new ServerAddress("127.0.0.1", 27017);

  private static MongoCommandException commandError(int code, String... labels) {
    BsonDocument response = new BsonDocument("ok", new BsonInt32(0))
        .append("code", new BsonInt32(code))
        .append("errmsg", new BsonString("error " + code));
    if (labels.length > 0) {
      BsonArray array = new BsonArray();
      for (String label : labels) array.add(new BsonString(label));
      response.append("errorLabels", array);
    }
    return new MongoCommandException(response, SERVER);
  }

  @ParameterizedTest
  @ValueSource(ints = {6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 13388, 234, 133})
  void theCodesListedForServersOlderThan44AreResumable(int code) {
    assertThat(ResumableErrors.isResumable(commandError(code))).isTrue();
  }

  @ParameterizedTest
  @ValueSource(ints = {286, 280, 260, 136, 10334, 40573, 11000, 2, 13, 11601})
  void otherCodesAreNot(int code) {
    assertThat(ResumableErrors.isResumable(commandError(code))).isFalse();
  }

  @Test
  void theResumableLabelMakesAnyCodeResumable() {
    assertThat(ResumableErrors.isResumable(commandError(1234, ResumableErrors.RESUMABLE_LABEL))).isTrue();
  }

  @Test
  void theNonResumableLabelWinsOverAListedCode() {
    assertThat(ResumableErrors.isResumable(commandError(11602, ResumableErrors.NON_RESUMABLE_LABEL))).isFalse();
    assertThat(ResumableErrors.isResumable(commandError(286, ResumableErrors.NON_RESUMABLE_LABEL))).isFalse();
  }

  @Test
  void cursorNotFoundAndCursorKilledAreResumable() {
    BsonDocument response = BsonDocument.parse("{ok: 0, code: 43, errmsg: 'cursor id 1 not found'}");
    assertThat(ResumableErrors.isResumable(new MongoCursorNotFoundException(1L, response, SERVER))).isTrue();
    assertThat(ResumableErrors.isResumable(commandError(43))).isTrue();
    assertThat(ResumableErrors.isResumable(commandError(237))).isTrue();
  }

  @Test
  void networkErrorsAndTimeoutsAreResumable() {
    assertThat(ResumableErrors.isResumable(new MongoSocketReadException("connection reset", SERVER))).isTrue();
    assertThat(ResumableErrors.isResumable(new MongoTimeoutException("no server"))).isTrue();
    assertThat(ResumableErrors.isResumable(new CompletionException(new MongoSocketReadException("reset", SERVER)))).isTrue();
  }

  @Test
  void errorsOutsideTheDriverAreNot() {
    for (Throwable error : List.of(new IllegalStateException("bug"), new TidemarkException("bad config"))) {
      assertThat(ResumableErrors.isResumable(error)).isFalse();
    }
  }

  @Test
  void aServerErrorOnTheAggregateIsNotResumableUnlessAnElectionOrShutdownRaisedIt() {
    // 40324: an unknown pipeline stage; it would fail every reopen the same way.
    MongoCommandException badPipeline = commandError(40324, ResumableErrors.RESUMABLE_LABEL);
    new CommandFailures().commandFailed(failed("aggregate", 17, badPipeline));
    assertThat(ResumableErrors.isResumable(badPipeline)).isFalse();
    MongoCommandException unauthorized = commandError(13);
    new CommandFailures().commandFailed(failed("aggregate", 17, unauthorized));
    assertThat(ResumableErrors.isResumable(unauthorized)).isFalse();
    // 10107 NotWritablePrimary, 11602 InterruptedDueToReplStateChange: a primary changing; they pass.
    for (int code : new int[] {10107, 11602, 189, 91}) {
      MongoCommandException election = commandError(code);
      new CommandFailures().commandFailed(failed("aggregate", 17, election));
      assertThat(ResumableErrors.isResumable(election)).as("code %d on aggregate", code).isTrue();
    }
    MongoCommandException onGetMore = commandError(11602, ResumableErrors.RESUMABLE_LABEL);
    new CommandFailures().commandFailed(failed("getMore", 17, onGetMore));
    assertThat(ResumableErrors.isResumable(onGetMore)).isTrue();
  }

  @Test
  void errorsARetryCannotFixAreNotResumable() {
    var credential = com.mongodb.MongoCredential.createScramSha256Credential("app", "admin", "wrong".toCharArray());
    assertThat(ResumableErrors.isResumable(new com.mongodb.MongoSecurityException(credential, "Exception authenticating"))).isFalse();
    assertThat(ResumableErrors.isResumable(new com.mongodb.MongoConfigurationException("bad srv record"))).isFalse();
  }

  @Test
  void fromWireVersion9OnlyTheLabelCountsBeforeItTheCodes() {
    MongoCommandException modernUnlabelled = commandError(11602);
    new CommandFailures().commandFailed(failed("getMore", 9, modernUnlabelled));
    assertThat(ResumableErrors.isResumable(modernUnlabelled)).isFalse();
    MongoCommandException oldUnlabelled = commandError(11602);
    new CommandFailures().commandFailed(failed("getMore", 8, oldUnlabelled));
    assertThat(ResumableErrors.isResumable(oldUnlabelled)).isTrue();
  }

  @Test
  void classifiesWhatTheFaultPoliciesActOn() {
    assertThat(ResumableErrors.classify(commandError(286, ResumableErrors.NON_RESUMABLE_LABEL))).isEqualTo(ResumableErrors.Kind.HISTORY_LOST);
    assertThat(ResumableErrors.classify(commandError(136))).isEqualTo(ResumableErrors.Kind.HISTORY_LOST);
    assertThat(ResumableErrors.classify(commandError(260))).isEqualTo(ResumableErrors.Kind.INVALID_TOKEN);
    assertThat(ResumableErrors.classify(commandError(10334))).isEqualTo(ResumableErrors.Kind.TOO_LARGE);
    assertThat(ResumableErrors.classify(commandError(40573))).isEqualTo(ResumableErrors.Kind.NOT_A_REPLICA_SET);
    BsonDocument notFound = BsonDocument.parse("{ok: 0, code: 280, errmsg: 'cannot resume stream; the resume token was not found.'}");
    assertThat(ResumableErrors.classify(new MongoCommandException(notFound, SERVER))).isEqualTo(ResumableErrors.Kind.HISTORY_LOST);
    assertThat(ResumableErrors.classify(commandError(280))).isEqualTo(ResumableErrors.Kind.FATAL);
  }

  private static com.mongodb.event.CommandFailedEvent failed(String command, int wireVersion, Throwable error) {
    var connection = new com.mongodb.connection.ConnectionDescription(
        new com.mongodb.connection.ConnectionId(new com.mongodb.connection.ServerId(new com.mongodb.connection.ClusterId(), SERVER)),
        wireVersion, com.mongodb.connection.ServerType.REPLICA_SET_PRIMARY, 1000, 16 * 1024 * 1024, 48 * 1024 * 1024, List.of());
    return new com.mongodb.event.CommandFailedEvent(null, 1, 1, connection, "test", command, 1L, error);
  }

  @Test
  void describesAnErrorOnOneLine() {
    assertThat(ResumableErrors.describe(commandError(11602))).startsWith("code 11602 (MongoCommandException): ").doesNotContain("\n");
  }
}
