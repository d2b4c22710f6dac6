"""Number formats of the languages as Latin America writes them (FORMAT_MODULE_PATH): Django's
"es" is Spain's, with a space between thousands; from Bogotá to Santiago a till writes "25.000"."""
