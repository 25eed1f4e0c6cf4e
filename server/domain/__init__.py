"""Pure core: models, errors, ports. Standard library and phonenumbers only."""
