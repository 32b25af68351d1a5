import java.lang.reflect.Constructor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;

/**
 * Dev/test-only: one Elasticsearch 8.x or 9.x node from the server jar (on the module path, as the
 * distribution runs it) and the modules under HOME/modules, started in-process without the
 * distribution's launcher (infra/dev/search-nodes.sh compiles and runs this).
 *
 * The launcher would install the native checks and refuse to run as root; a dev node on 127.0.0.1
 * that CI runs as root skips them, as Elastic's own test clusters do.
 *
 * Usage: DevNode HOME RUN_DIR HTTP_PORT CLUSTER_NAME
 *   HOME     the assembled node (modules/, plugins/), read only
 *   RUN_DIR  data/, logs/, config/ of this node
 */
public final class DevNode {
  public static void main(String[] args) throws Exception {
    if (args.length != 4) throw new IllegalArgumentException("usage: DevNode HOME RUN_DIR HTTP_PORT CLUSTER_NAME");
    Path home = Path.of(args[0]).toAbsolutePath();
    Path run = Path.of(args[1]).toAbsolutePath();
    Files.createDirectories(run.resolve("config"));
    Settings settings = Settings.builder()
        .put("path.home", home.toString())
        .put("path.data", run.resolve("data").toString())
        .put("path.logs", run.resolve("logs").toString())
        .put("cluster.name", args[3])
        .put("node.name", "node-1")
        .put("discovery.type", "single-node")
        .put("network.host", "127.0.0.1")
        .put("http.port", Integer.parseInt(args[2]))
        // Beside the 7.10 dev node's 9300 range.
        .put("transport.port", "9400-9499")
        // A dev disk that is 90% full must not turn every index read-only.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    LogConfigurator.configureWithoutConfig(settings);
    Environment env = new Environment(settings, run.resolve("config"));
    Node node = newNode(env, home);
    node.start();
    CountDownLatch closed = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        e.printStackTrace();
      }
      closed.countDown();
    }));
    System.out.println("[dev-node] started on http://127.0.0.1:" + args[2]);
    closed.await();
  }

  /** 8.x: Node(Environment) loads the modules itself; 9.x: Node(Environment, PluginsLoader). */
  private static Node newNode(Environment env, Path home) throws Exception {
    Class<?> loaderClass;
    try {
      loaderClass = Class.forName("org.elasticsearch.plugins.PluginsLoader");
    } catch (ClassNotFoundException e) {
      return Node.class.getConstructor(Environment.class).newInstance(env);
    }
    Files.createDirectories(home.resolve("plugins"));
    Object modules = loaderClass.getMethod("loadModulesBundles", Path.class).invoke(null, home.resolve("modules"));
    Object plugins = loaderClass.getMethod("loadPluginsBundles", Path.class).invoke(null, home.resolve("plugins"));
    Object loader = loaderClass.getMethod("createPluginsLoader", Set.class, Set.class, Map.class).invoke(null, modules, plugins, Map.of());
    Constructor<Node> ctor = Node.class.getConstructor(Environment.class, loaderClass);
    return ctor.newInstance(env, loader);
  }
}
