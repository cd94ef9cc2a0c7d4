package io.tidemark.service;

import io.tidemark.connection.MongoSettings;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.sink.ConfiguredSink;
import io.tidemark.sink.SinkBlock;
import io.tidemark.sink.SinkContext;
import io.tidemark.sink.SinkFactory;
import io.tidemark.source.ChangeEnvelope;
import java.util.Set;

/**
 * {@code sink { type = demo-view, database, view, ledger }}: the demo's sink ({@link OrdersView}), a
 * view of the watched collection and a ledger of the deliveries of each event, in {@code database}
 * of the watched deployment ({@code tidemark.mongodb.uri}); what {@code verify} audits. Registered
 * as plugins' sink types are ({@code META-INF/services/io.tidemark.sink.SinkFactory}), so that the
 * demo is a stream configuration like any other ({@code conf/demo.conf}). At least once: a replay
 * writes the view again (to the same state) and counts the delivery again in the ledger.
 */
public final class DemoViewSinkFactory implements SinkFactory {
  @Override
  public String type() {
    return "demo-view";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("database", "view", "ledger"));
    String database = block.string("database");
    String view = block.string("view");
    String ledger = block.string("ledger");
    if (view.equals(ledger)) {
      throw new io.tidemark.TidemarkException("invalid config key " + block.key("ledger") + " = \"" + ledger
          + "\": expected a collection other than the view's");
    }
    MongoSettings mongo = MongoSettings.create(context.system().settings().config());
    return new ConfiguredSink() {
      private SharedMongoClients.Lease lease;

      @Override
      public String guarantee() {
        return "at-least-once";
      }

      @Override
      public synchronized PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
        if (lease == null) lease = SharedMongoClients.get(context.system()).lease(mongo.uri, mongo.connectTimeout);
        return new OrdersView(lease.client().getDatabase(database), view, ledger).attach(stages);
      }

      @Override
      public synchronized void close() {
        if (lease != null) lease.close();
        lease = null;
      }
    };
  }
}
