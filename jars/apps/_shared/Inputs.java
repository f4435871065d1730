/**
 * The inputs of a test application: its program arguments, or, when it got none, the words of the
 * APP_ARGS environment variable, so that a driver without program arguments can run it too.
 */
final class Inputs {
    private Inputs() {}

    static String[] of(String[] args) {
        String fromEnv = System.getenv("APP_ARGS");
        if (args.length > 0 || fromEnv == null || fromEnv.isBlank()) {
            return args;
        }
        return fromEnv.trim().split("\\s+");
    }
}
