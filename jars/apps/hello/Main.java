import java.util.Map;
import java.util.TreeMap;

/** Prints a known greeting, its arguments, selected environment variables and the Java version. */
public final class Main {
    private static final String GREETING = "Hello from crunjar!";

    private Main() {
    }

    public static void main(String[] args) {
        System.out.println(GREETING);
        System.out.println("args: " + String.join(" ", args));
        Map<String, String> shown = new TreeMap<>();
        for (Map.Entry<String, String> entry : System.getenv().entrySet()) {
            String name = entry.getKey();
            if (name.startsWith("NOMAD_") || name.startsWith("HELLO_")) {
                shown.put(name, entry.getValue());
            }
        }
        for (Map.Entry<String, String> entry : shown.entrySet()) {
            System.out.println("env: " + entry.getKey() + "=" + entry.getValue());
        }
        System.out.println("java.version: " + System.getProperty("java.version"));
    }
}
