"""Model families, one file each: gan1d (the 1-D lecture GAN); more come with later notebooks."""
