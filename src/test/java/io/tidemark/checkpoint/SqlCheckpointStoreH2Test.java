package io.tidemark.checkpoint;

/** The checkpoint contract on the plain SQL store on H2, the embedded default's database. */
class SqlCheckpointStoreH2Test extends SqlCheckpointStoreFixture {
  private final String url = "jdbc:h2:mem:sql_checkpoints_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";

  @Override
  String url() {
    return url;
  }

  @Override
  String user() {
    return "sa";
  }

  @Override
  String password() {
    return "";
  }
}
