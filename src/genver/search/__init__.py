"""Filter strings and ``order_by`` terms: parsed here, compiled to SQL by the store."""
