package dev.woq.runtime;

/** A model or generation setting is unsupported or out of range. */
public class ConfigException extends WoqException {
    public ConfigException(String message) {
        super(message);
    }
}
