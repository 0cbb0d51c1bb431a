"""Pure domain: events, validation rules, state folds. No I/O, no clock."""
